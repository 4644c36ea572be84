"""Celery tasks of machines: thin, named, take ids, call one service, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from core.outbox import outbox_handler
from machines.services import machine_api, settlement

SETTLE_TOPIC = "machines.charging_session_settle"


@outbox_handler(SETTLE_TOPIC)
def charging_session_settle(*, session_id: int) -> None:
    """Settles one ended charging session (queued through the outbox); a second run finds it settled."""
    settlement.charging_session_settle(session_id=session_id)


@shared_task(name="machines.charging_invoices_anchor_missing")
def charging_invoices_anchor_missing() -> int:
    """Beat, every minute: hands invoices' leaves to anchoring when it was unavailable at settlement. (A lost
    settlement is the outbox sweep's business.)"""
    return settlement.charging_invoices_anchor_missing()


@shared_task(name="machines.request_nonces_purge")
def request_nonces_purge() -> int:
    """Beat, every ten minutes: forgets nonces older than the signed-request window (they are refused by time)."""
    return machine_api.request_nonces_purge()
