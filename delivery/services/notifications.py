"""Localized push notifications to customers about their order."""

import uuid
from typing import Any

from integrations.push import PushNotification, push_backend
from side_effects.models import EffectKind, EffectRecord, effect_recorded, record_effect

# Push texts by locale and delivery status; English is the fallback.
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "assigned": ("Driver assigned", "{driver} will deliver your order {order}."),
        "waiting_at_restaurant": ("Driver at the restaurant", "Your driver is waiting for order {order}."),
        "out_for_delivery": ("On the way", "Your order {order} is on its way."),
        "delivered": ("Delivered", "Your order {order} was delivered. Enjoy your meal!"),
        "failed": ("Delivery failed", "We could not deliver your order {order}. We will contact you."),
    },
    "ar": {
        "assigned": ("تم تعيين السائق", "سيقوم {driver} بتوصيل طلبك {order}."),
        "waiting_at_restaurant": ("السائق في المطعم", "السائق بانتظار طلبك {order}."),
        "out_for_delivery": ("في الطريق", "طلبك {order} في الطريق إليك."),
        "delivered": ("تم التوصيل", "تم توصيل طلبك {order}. بالهناء والشفاء!"),
        "failed": ("تعذر التوصيل", "تعذر توصيل طلبك {order}. سنتواصل معك."),
    },
}


def notification_text(*, locale: str, status: str, albaik_identifier: str, driver_name: str) -> tuple[str, str]:
    texts = TEXTS.get(locale, TEXTS["en"])
    title, body = texts.get(status, TEXTS["en"][status])
    return title, body.format(order=albaik_identifier, driver=driver_name)


def customer_notify(*, snapshot: dict[str, Any], path: str, idempotency_key: uuid.UUID) -> bool:
    """Push the delivery's status to the order's customer, in their language. False if not sent.

    Not sent when the customer has notifications off, or when a newer change of the same delivery
    was already pushed (a replayed or late event must not tell the customer something older).
    """
    customer = snapshot["customer"]
    order = snapshot["order"]
    delivery = snapshot["delivery"]
    status = delivery["status"]
    albaik_identifier = order["albaik_identifier"]
    # Which change of which delivery this is: a late copy of an older one is never pushed after a newer one.
    version = {"delivery_id": delivery["id"], "delivery_version": delivery["version"]}
    reason = None
    if not customer.get("user_id") or not customer.get("notify") or status not in TEXTS["en"]:
        reason = "notifications off" if customer.get("user_id") else "no account"
    elif EffectRecord.objects.filter(
        albaik_identifier=albaik_identifier,
        kind=EffectKind.NOTIFICATION,
        outcome="ok",
        detail__delivery_id=delivery["id"],
        detail__delivery_version__gt=delivery["version"],
    ).exists():
        reason = "superseded"
    if reason is not None:
        record_effect(
            albaik_identifier=albaik_identifier,
            kind=EffectKind.NOTIFICATION,
            path=path,
            outcome="skipped",
            event_id=idempotency_key,
            detail={"status": status, "reason": reason, **version},
        )
        return False
    locale = customer.get("preferred_locale") or "en"
    title, body = notification_text(
        locale=locale, status=status, albaik_identifier=albaik_identifier, driver_name=snapshot["driver"]["name"]
    )
    notification = PushNotification(
        idempotency_key=str(idempotency_key),
        user_id=customer["user_id"],
        locale=locale,
        title=title,
        body=body,
        albaik_identifier=albaik_identifier,
        status=status,
    )
    with effect_recorded(
        albaik_identifier=albaik_identifier,
        kind=EffectKind.NOTIFICATION,
        path=path,
        event_id=idempotency_key,
        detail={**notification.payload(), **version},
    ):
        push_backend().send(notification)
    return True
