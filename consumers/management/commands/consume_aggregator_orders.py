"""`manage.py consume_aggregator_orders`: the same as `consume aggregator_orders`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "aggregator_orders"
