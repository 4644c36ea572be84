"""Celery tasks of machines: thin, named, take ids, call one service, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from machines.services import machine_api, settlement

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


@shared_task(
    name="machines.charging_session_settle",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=8,
)
def charging_session_settle(session_id: int) -> None:
    """Settles one ended charging session; a second run finds it settled and does nothing."""
    settlement.charging_session_settle(session_id=session_id)


@shared_task(name="machines.charging_sessions_settle_due")
def charging_sessions_settle_due() -> int:
    """Beat, every minute: settles ended sessions whose task was lost, and hands over leaves not yet anchored."""
    settled = settlement.charging_sessions_settle_due()
    settlement.charging_invoices_anchor_missing()
    return settled


@shared_task(name="machines.request_nonces_purge")
def request_nonces_purge() -> int:
    """Beat, every ten minutes: forgets nonces older than the signed-request window (they are refused by time)."""
    return machine_api.request_nonces_purge()
