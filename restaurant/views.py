"""The dashboard pages: staff log in, then watch and move their branch's preparations live."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from delivery.errors import Forbidden
from restaurant.payloads import preparation_payload
from restaurant.selectors import branch_get_for_staff, branches_for_staff, preparation_list_active


class StaffLoginView(LoginView):
    template_name = "restaurant/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return reverse("restaurant:index")


@login_required
def dashboard_index(request: HttpRequest) -> HttpResponse:
    """Send staff to their (first) branch; others get a page saying they have none."""
    branches = branches_for_staff(user=request.user)
    if branches:
        return redirect("restaurant:branch-dashboard", branch_id=branches[0].pk)
    return render(request, "restaurant/forbidden.html", status=403)


@login_required
def branch_dashboard(request: HttpRequest, branch_id: int) -> HttpResponse:
    try:
        branch = branch_get_for_staff(user=request.user, branch_id=branch_id)
        preparations = preparation_list_active(user=request.user, branch_id=branch_id)
    except Forbidden:
        return render(request, "restaurant/forbidden.html", status=403)
    config = {
        "branchId": branch.pk,
        "socketPath": f"/ws/restaurant/branches/{branch.pk}/",
        "listUrl": reverse("restaurant:branch-preparations", kwargs={"branch_id": branch.pk}),
        "updateUrl": reverse("restaurant:preparation-update", kwargs={"preparation_id": 0}),
        "serverTime": timezone.now().isoformat(),
        "urgency": {
            "warningMinutes": settings.DASHBOARD_AGE_WARNING_MINUTES,
            "lateMinutes": settings.DASHBOARD_AGE_LATE_MINUTES,
            "newSeconds": settings.DASHBOARD_NEW_ORDER_SECONDS,
        },
        "preparations": [preparation_payload(preparation) for preparation in preparations],
        "labels": dashboard_labels(),
    }
    return render(
        request,
        "restaurant/dashboard.html",
        {"branch": branch, "config": config, "branches": branches_for_staff(user=request.user)},
    )


def dashboard_labels() -> dict[str, Any]:
    """Every text the page's script shows, in the request's language."""
    return {
        "status": {
            "received": pgettext("preparation status", "Received"),
            "collecting": pgettext("preparation status", "Collecting"),
            "ready": pgettext("preparation status", "Ready"),
            "handed_over": pgettext("preparation status", "Handed over"),
        },
        "action": {
            "collecting": _("Start collecting"),
            "ready": _("Mark ready"),
            "handed_over": _("Hand over"),
        },
        "courierStatus": {
            "assigned": pgettext("courier status", "Assigned"),
            "at_hub": pgettext("courier status", "At the restaurant"),
            "in_transit": pgettext("courier status", "On the way to the customer"),
            "at_destination": pgettext("courier status", "At the customer"),
            "delivered": pgettext("courier status", "Delivered"),
        },
        "deliveryStatus": {
            "assigned": pgettext("delivery status", "On the way"),
            "waiting_at_restaurant": pgettext("delivery status", "Waiting at the restaurant"),
            "ready_to_collect": pgettext("delivery status", "Ready to collect"),
            "out_for_delivery": pgettext("delivery status", "Out for delivery"),
            "delivered": pgettext("delivery status", "Delivered"),
            "failed": pgettext("delivery status", "Failed"),
        },
        "kind": {"delivery": _("Delivery"), "pickup": _("Pickup")},
        "source": {"own_fleet": _("Our driver"), "aggregator": _("Aggregator")},
        "aggregators": {"rappi": "Rappi"},
        "driver": _("Driver"),
        "courier": _("Courier"),
        "waitingForCourier": _("Waiting for a courier"),
        "arrived": _("Arrived"),
        "notArrived": _("Not arrived yet"),
        "noDriver": _("No driver assigned yet"),
        "cookTogether": _("Cook together"),
        "cookTogetherWith": _("Cook together with {orders}"),
        "minutes": _("{n} min"),
        "justNow": _("just now"),
        "new": _("New"),
        "urgency": {"warning": _("Waiting long"), "late": _("Late")},
        "empty": _("No active orders. New orders appear here by themselves."),
        "offline": _("Offline: this list may be out of date. Reconnecting…"),
        "connection": {
            "connecting": _("Connecting…"),
            "open": _("Live"),
            "closed": _("Offline"),
            "forbidden": _("Not allowed: log in as staff of this branch."),
        },
        "errors": {
            "invalid_transition": _("Someone else already moved this order; the list was refreshed."),
            "forbidden": _("Not allowed: log in as staff of this branch."),
            "unauthenticated": _("Your session ended: log in again."),
            "generic": _("Could not save the change. Try again."),
        },
    }
