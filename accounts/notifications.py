"""Notification e-mails: one per business event, HTML and plain text, in the recipient's language and time zone.

Apps above accounts tell their customers what happened (an order paid, a code about to expire, a lease decided, a
direct debit coming or returned, a charging invoice) without accounts importing them:

- each app registers its kinds from `AppConfig.ready()` with `notification_kind_register(NotificationKind(...))`:
  a code ("payments.order_paid"), a label and description for the preferences page, whether the user may turn it
  off, and its templates (`<template>.subject.txt`, `<template>.txt`, `<template>.html` under templates/);
- in the business transaction, the service calls `notification_queue(kind=..., user_id=..., event_key=...,
  context=...)`, which writes one outbox message (core.outbox) keyed by kind, event and user: the same event is
  queued once, and the message exists exactly when the change committed;
- after commit the kernel's relay hands it to Celery; `accounts.notification_send` (accounts.tasks) renders and sends
  it under `notification_deliver`, which records a `SentNotification` row keyed by (kind, event, user) in the same
  transaction as the send. A repeated delivery (sweep after a Redis restart, broker redelivery) finds the row and
  sends nothing. Only a crash after the mail server accepted the mail and before the commit can send it twice; the
  Message-ID is derived from the event, so the recipient's mail system can tell the copies apart;
- optional kinds carry RFC 8058 one-click `List-Unsubscribe` headers whose signed link turns that kind off without a
  login (`notification_unsubscribe`); mandatory kinds never carry them.

The context is a snapshot of the event in primitive values: strings and numbers, and typed values made by `money()`,
`moment()`, `day()`, `decimal()` and `link()`, formatted at sending time in the recipient's language and zone
(core.locale_format). Nothing about identity or credit goes into a context: a mail names only what its recipient owns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from accounts.models import NotificationPreference, SentNotification, SentNotificationStatus, User
from core.errors import ApplicationError
from core.locale_format import format_day, format_decimal, format_money, format_when
from core.money import Money
from core.outbox import outbox_write

logger = logging.getLogger(__name__)

NOTIFICATION_TOPIC = "accounts.notification_send"


@dataclass(frozen=True)
class NotificationKind:
    """One kind of notification e-mail. `template` is the path without suffix of its three templates; `is_optional`
    kinds can be turned off on the preferences page (and are on unless the user turned them off); the others are
    always sent because the user needs them to act or the law asks for them."""

    code: str
    label: str | Promise
    description: str | Promise
    template: str
    is_optional: bool


_KINDS: dict[str, NotificationKind] = {}


def notification_kind_register(kind: NotificationKind) -> NotificationKind:
    """Registers a kind (from the sending app's `AppConfig.ready()`); registering the same code twice is refused."""
    if _KINDS.get(kind.code, kind) != kind:
        raise ValueError(f"notification kind {kind.code!r} is registered already")
    _KINDS[kind.code] = kind
    return kind


def notification_kind_get(*, code: str) -> NotificationKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise ValueError(f"no notification kind {code!r} is registered") from None


def notification_kinds() -> list[NotificationKind]:
    """Every registered kind, mandatory ones first, each group in registration order."""
    return sorted(_KINDS.values(), key=lambda kind: kind.is_optional)


# --- Typed context values: JSON in the outbox, formatted for the reader when the e-mail is written ------------------


def money(value: Money) -> dict[str, Any]:
    """An amount: minor units and currency; shown as "1.234,56 €" / "€1,234.56"."""
    return {"$money": [int(value.amount), value.currency]}


def moment(value: dt.datetime) -> dict[str, Any]:
    """A moment (timezone-aware); shown in the recipient's zone with the zone named."""
    if timezone.is_naive(value):
        raise ValueError("a notification moment must be timezone-aware")
    return {"$moment": value.isoformat()}


def day(value: dt.date) -> dict[str, Any]:
    """A calendar day; shown as "06.12.2026" / "6 Dec 2026"."""
    return {"$day": value.isoformat()}


def decimal(value: Decimal | int, *, places: int = 2) -> dict[str, Any]:
    """A figure (kWh); shown with the locale's separators."""
    return {"$decimal": [str(value), places]}


def link(path: str) -> dict[str, Any]:
    """A page of the portal (a path from `reverse`); shown as an absolute URL on PORTAL_BASE_URL."""
    if not path.startswith("/"):
        raise ValueError("a notification link is a path of the portal")
    return {"$link": path}


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _formatted(value: Any) -> Any:
    if not isinstance(value, Mapping) or len(value) != 1:
        return value
    ((tag, raw),) = value.items()
    if tag == "$money":
        return format_money(Money(int(raw[0]), raw[1]))
    if tag == "$moment":
        return format_when(dt.datetime.fromisoformat(raw))
    if tag == "$day":
        return format_day(dt.date.fromisoformat(raw))
    if tag == "$decimal":
        return format_decimal(Decimal(raw[0]), places=int(raw[1]))
    if tag == "$link":
        return _absolute(raw)
    return value


# --- Queue and deliver ---------------------------------------------------------------------------------------------


def notification_queue(*, kind: str, user_id: int, event_key: str, context: dict[str, Any]) -> None:
    """Queues one e-mail of `kind` about the event `event_key` to the user, inside the business transaction.

    Queuing the same (kind, event, user) again is a no-op; so is sending it again later (`SentNotification`).
    """
    notification_kind_get(code=kind)
    outbox_write(
        topic=NOTIFICATION_TOPIC,
        key=f"{kind}:{event_key}:{user_id}",
        payload={"kind": kind, "user_id": user_id, "event_key": event_key, "context": context},
    )


def notification_is_enabled(*, user: User, kind: NotificationKind) -> bool:
    """Mandatory kinds always; optional ones unless the user turned them off."""
    if not kind.is_optional:
        return True
    preference = NotificationPreference.objects.filter(user=user, kind=kind.code).values_list("is_enabled", flat=True)
    return next(iter(preference), True)


def notification_deliver(*, kind: str, user_id: int, event_key: str, context: dict[str, Any]) -> bool:
    """Sends one notification once; True when an e-mail left now, False when it was sent (or turned off) before,
    the user is gone or closed, or the user turned this kind off (recorded, so a later delivery does not send it).

    The `SentNotification` row and the send share one transaction: a failed send rolls the row back and raises, so
    the outbox retries; a concurrent delivery of the same event waits on the row's unique key and then sends nothing.
    """
    registered = notification_kind_get(code=kind)
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    with transaction.atomic():
        enabled = notification_is_enabled(user=user, kind=registered)
        status = SentNotificationStatus.SENT if enabled else SentNotificationStatus.SUPPRESSED
        try:
            with transaction.atomic():
                SentNotification.objects.create(user=user, kind=kind, event_key=event_key, status=status)
        except IntegrityError:
            return False
        if not enabled:
            logger.info("notification %s to user %s turned off by the user", kind, user.pk)
            return False
        _email_send(user=user, kind=registered, event_key=event_key, context=context)
    logger.info("notification %s sent to user %s", kind, user.pk)
    return True


def _message_id(*, kind: str, event_key: str, user_id: int) -> str:
    digest = hashlib.sha256(f"{kind}|{event_key}|{user_id}".encode()).hexdigest()[:40]
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].rstrip(">").strip() or "finlab.example"
    return f"<notification.{digest}@{domain}>"


def notification_render(*, user: User, kind: NotificationKind, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, plain text and HTML of one notification, in the user's correspondence language (chosen, else the
    sign-up's, else the default) and time zone."""
    language = user.correspondence_language
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    with translation.override(language), timezone.override(zone):
        values = {name: _formatted(value) for name, value in context.items()}
        values |= {
            "is_optional": kind.is_optional,
            "preferences_link": _absolute(reverse("accounts:notification-preferences")),
            "portal_link": _absolute("/"),
            "language": language,
        }
        # One line (a header), the locale's no-break spaces kept ("1.234,56\xa0€").
        subject = re.sub(r"[ \t\r\n]+", " ", render_to_string(f"{kind.template}.subject.txt", values)).strip()
        values["subject"] = subject
        text = render_to_string(f"{kind.template}.txt", values)
        html = render_to_string(f"{kind.template}.html", values)
    return subject, text, html


def notification_headers(*, user: User, kind: NotificationKind, event_key: str) -> dict[str, str]:
    """The mail headers of one notification. Optional kinds carry RFC 8058 one-click unsubscribe headers, so the
    recipient's mail program offers "unsubscribe" and turns the kind off with one POST; mandatory kinds never do."""
    headers = {"Message-ID": _message_id(kind=kind.code, event_key=event_key, user_id=user.pk)}
    if kind.is_optional:
        headers["List-Unsubscribe"] = f"<{notification_unsubscribe_link(user=user, kind=kind)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _email_send(*, user: User, kind: NotificationKind, event_key: str, context: dict[str, Any]) -> None:
    subject, text, html = notification_render(user=user, kind=kind, context=context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers=notification_headers(user=user, kind=kind, event_key=event_key),
    )
    message.attach_alternative(html, "text/html")
    message.send()


# --- Preferences ---------------------------------------------------------------------------------------------------


def notification_preferences_get(*, user: User) -> dict[str, bool]:
    """Whether each optional kind is on for the user (its default when never chosen)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "is_enabled"))
    return {kind.code: chosen.get(kind.code, True) for kind in notification_kinds() if kind.is_optional}


@transaction.atomic
def notification_preferences_update(*, user: User, enabled: Mapping[str, bool]) -> None:
    """Stores the user's choice for optional kinds; mandatory or unknown kinds are refused."""
    for code, is_enabled in enabled.items():
        if not notification_kind_get(code=code).is_optional:
            raise ValueError(f"notification kind {code!r} cannot be turned off")
        NotificationPreference.objects.update_or_create(user=user, kind=code, defaults={"is_enabled": bool(is_enabled)})


# --- One-click unsubscribe (RFC 8058) --------------------------------------------------------------------------------
# The link in an optional notification's List-Unsubscribe header carries a token signed with the portal's secret key
# (django.core.signing, its own salt) naming the user and the kind. It does not expire: mails stay in inboxes for
# months, and the link can do one thing only, turn that kind off, which the user can undo on the preferences page.
# A token that does not verify, or names an unknown or mandatory kind or a closed account, changes nothing.

_UNSUBSCRIBE_SALT = "accounts.notification-unsubscribe"


class NotificationUnsubscribeInvalid(ApplicationError):
    """An unsubscribe link that was not made by the portal for an optional kind of an open account."""


def notification_unsubscribe_token(*, user: User, kind: NotificationKind) -> str:
    if not kind.is_optional:
        raise ValueError(f"notification kind {kind.code!r} cannot be turned off")
    return signing.dumps({"user": user.pk, "kind": kind.code}, salt=_UNSUBSCRIBE_SALT)


def notification_unsubscribe_link(*, user: User, kind: NotificationKind) -> str:
    """The absolute one-click URL of the List-Unsubscribe header (https on a production PORTAL_BASE_URL)."""
    token = notification_unsubscribe_token(user=user, kind=kind)
    return _absolute(reverse("accounts:notification-unsubscribe", kwargs={"token": token}))


def notification_unsubscribe_target(*, token: str) -> tuple[User, NotificationKind]:
    """The user and the optional kind an unsubscribe token names; `NotificationUnsubscribeInvalid` for anything
    else (a tampered or foreign token, a kind no longer registered or mandatory, a closed account)."""
    invalid = NotificationUnsubscribeInvalid(
        gettext_lazy("This unsubscribe link is not valid. Nothing was changed."), code="unsubscribe_link_invalid"
    )
    try:
        payload = signing.loads(token, salt=_UNSUBSCRIBE_SALT)
    except signing.BadSignature as error:
        raise invalid from error
    kind = _KINDS.get(payload.get("kind")) if isinstance(payload, dict) else None
    user_id = payload.get("user") if isinstance(payload, dict) else None
    user = User.objects.filter(pk=user_id, is_active=True).first() if isinstance(user_id, int) else None
    if kind is None or not kind.is_optional or user is None:
        raise invalid
    return user, kind


def notification_unsubscribe(*, token: str) -> tuple[User, NotificationKind]:
    """Turns off the kind the token names for the user it names (no login: the signature is the authority); doing
    it twice is harmless. Returns what was turned off."""
    user, kind = notification_unsubscribe_target(token=token)
    notification_preferences_update(user=user, enabled={kind.code: False})
    logger.info("notification %s turned off by user %s with the unsubscribe link", kind.code, user.pk)
    return user, kind
