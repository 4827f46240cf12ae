"""`manage.py consume_restaurant_dashboard`: the same as `consume restaurant_dashboard`."""

from consumers.management.commands.consume import Command as ConsumeCommand


class Command(ConsumeCommand):
    consumer_name = "restaurant_dashboard"
