"""`manage.py consume_driver_trip`: the same as `consume driver_trip`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "driver_trip"
