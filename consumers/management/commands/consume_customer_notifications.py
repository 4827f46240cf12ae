"""`manage.py consume_customer_notifications`: the same as `consume customer_notifications`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "customer_notifications"
