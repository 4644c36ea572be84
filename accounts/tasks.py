"""Celery tasks of accounts: thin wrappers that load ids and call one service."""

from celery import shared_task

from accounts import services


@shared_task(name="accounts.email_confirmation_send", autoretry_for=(ConnectionError,), retry_backoff=True)
def email_confirmation_send(*, user_id: int) -> None:
    services.email_confirmation_deliver(user_id=user_id)


@shared_task(name="accounts.registration_attempt_mail_send", autoretry_for=(ConnectionError,), retry_backoff=True)
def registration_attempt_mail_send(*, user_id: int) -> None:
    services.registration_attempt_mail_deliver(user_id=user_id)
