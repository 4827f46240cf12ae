"""`manage.py consume_normal_data`: the same as `consume normal_data`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "normal_data"
