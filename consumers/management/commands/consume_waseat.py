"""`manage.py consume_waseat`: the same as `consume waseat`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "waseat"
