"""Side effects of the kitchen's own changes (a new order's preparation, a preparation's move).

The card is sent after commit, read as it is then, to the branch's open dashboards: the kitchen
sees its own change at once, whatever the flags say (dashboard broadcasts of delivery and courier
transitions are the movable `DashboardBroadcast` work).
"""

from django.db import transaction

from delivery.models import Preparation
from restaurant.broadcasts import broadcast_preparation
from restaurant.payloads import preparation_payload
from side_effects.base import SideEffect


class PreparationShown(SideEffect[Preparation]):
    """Show the preparation, as it is at commit, on its branch's dashboards."""

    name = "preparation_shown"

    def execute(self) -> None:
        preparation = self.context
        transaction.on_commit(
            lambda: broadcast_preparation(
                branch_id=preparation.branch_id, preparation=preparation_payload(preparation)
            ),
            robust=True,
        )
