"""Effects of accounts after commit, delivered through the kernel's outbox: thin handlers that call one service."""

from typing import Any

from accounts import invitations, notifications, services
from core.outbox import outbox_handler

EMAIL_CONFIRMATION_TOPIC = "accounts.email_confirmation_send"
REGISTRATION_ATTEMPT_TOPIC = "accounts.registration_attempt_mail_send"


@outbox_handler(EMAIL_CONFIRMATION_TOPIC)
def email_confirmation_send(*, user_id: int) -> None:
    services.email_confirmation_deliver(user_id=user_id)


@outbox_handler(REGISTRATION_ATTEMPT_TOPIC)
def registration_attempt_mail_send(*, user_id: int) -> None:
    services.registration_attempt_mail_deliver(user_id=user_id)


@outbox_handler(notifications.NOTIFICATION_TOPIC)
def notification_send(*, kind: str, user_id: int, event_key: str, context: dict[str, Any]) -> None:
    notifications.notification_deliver(kind=kind, user_id=user_id, event_key=event_key, context=context)


@outbox_handler(invitations.INVITATION_TOPIC)
def staff_invitation_send(*, invitation_id: int) -> None:
    invitations.staff_invitation_deliver(invitation_id=invitation_id)
