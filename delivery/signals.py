"""What the delivery services announce after commit, for the task layer to act on.

Services sit below the Celery tasks that call them, so they do not enqueue tasks themselves:
they send these signals (from `transaction.on_commit`) and `delivery.tasks` enqueues the work.
"""

from django.dispatch import Signal

# An own-fleet order is waiting for a driver (kwargs: order_id).
order_waiting = Signal()
# A driver can take a trip now (became available, or got a location while available).
driver_assignable = Signal()
