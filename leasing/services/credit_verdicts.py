"""Collects credit-check verdicts for applications still waiting.

Leasing does not import the credit-check app: it declares what it needs here, a `LeaseApplicationVerdict` and a
`CreditVerdictSource` (the verdicts recorded for given application ids), and the credit-check app registers its
source at start-up (`credit_verdict_source_register`). A dealer's lease application number is an opaque reference
on the credit-check side; leasing applies a verdict only when the request came from the application's dealer
organisation and was answered by the application's customer. A verdict for anyone else's application is ignored,
so a dealer who types a foreign number changes nothing.

A verdict of the right dealer and customer is applied only if its terms cover the application: the purpose of the
product (lease or financing), the same currency, a monthly amount at least the application's monthly total and a
term at least the application's, decided no more than `LEASING_CREDIT_VERDICT_VALID_DAYS` ago. Otherwise it is
refused with a named reason (`CreditVerdictRefusal`) that back office sees on the application, which keeps waiting.
Runs from beat (`leasing.credit_verdicts_collect`) and when the application page opens; running it twice records
nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leasing.errors import ApplicationStateError
from leasing.models import Application, ApplicationStatus, CreditVerdictRefusal, CreditVerdictRefusalReason, ProductKind
from leasing.services.applications import application_credit_verdict_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass(frozen=True)
class LeaseApplicationVerdict:
    """A recorded credit-check verdict that names a lease application, with what the application's owner must match:
    the request's dealer organisation and the customer who presented, and the terms the verdict was given for
    (``purpose``, monthly ``amount`` in minor units of ``currency``, ``term_months``), which must cover the
    application's. ``application_id`` is the dealer's opaque reference, checked here only."""

    application_id: int
    outcome: str
    public_id: str
    dealer_organisation_id: int
    customer_id: int
    decided_at: datetime
    purpose: str
    amount: int
    currency: str
    term_months: int


class CreditVerdictSource(Protocol):
    """Every recorded verdict whose request names one of ``application_ids``, oldest first (all of them: any dealer
    may type any number, so the collector picks the first that matches and covers the application)."""

    def __call__(self, *, application_ids: Collection[int]) -> list[LeaseApplicationVerdict]: ...


_sources: list[CreditVerdictSource] = []


def credit_verdict_source_register(source: CreditVerdictSource) -> None:
    """Plugs a source of verdicts in (the credit-check app does, at start-up); registering it again changes nothing."""
    if source not in _sources:
        _sources.append(source)


def _verdicts_for(*, application_ids: list[int]) -> list[LeaseApplicationVerdict]:
    verdicts = [verdict for source in _sources for verdict in source(application_ids=application_ids)]
    return sorted(verdicts, key=lambda verdict: verdict.decided_at) if len(_sources) > 1 else verdicts


def _matches(*, application: Application, verdict: LeaseApplicationVerdict) -> bool:
    return (
        application.dealer_organisation_id is not None
        and verdict.dealer_organisation_id == application.dealer_organisation_id
        and verdict.customer_id == application.customer_id
    )


def required_purpose(application: Application) -> str:
    """The credit-check purpose an application's product needs: financing for a loan, lease for any lease."""
    return "financing" if application.quote.product.kind == ProductKind.INSTALMENT_LOAN else "lease"


def verdict_refusal_reason(
    *, application: Application, verdict: LeaseApplicationVerdict, now: datetime
) -> CreditVerdictRefusalReason | None:
    """Why ``verdict`` may not be applied to ``application`` (None: its terms cover it), checked in this order:
    purpose, currency, monthly amount against the monthly total (finance and services), term, age."""
    quote = application.quote
    if verdict.purpose != required_purpose(application):
        return CreditVerdictRefusalReason.PURPOSE_DIFFERS
    if verdict.currency != application.currency:
        return CreditVerdictRefusalReason.CURRENCY_DIFFERS
    if verdict.amount < quote.monthly_total:
        return CreditVerdictRefusalReason.AMOUNT_BELOW_INSTALMENT
    if verdict.term_months < quote.term_months:
        return CreditVerdictRefusalReason.TERM_SHORTER
    if verdict.decided_at + timedelta(days=settings.LEASING_CREDIT_VERDICT_VALID_DAYS) <= now:
        return CreditVerdictRefusalReason.VERDICT_EXPIRED
    return None


def _refusal_record(*, application: Application, verdict: LeaseApplicationVerdict, reason: str) -> None:
    """Keeps the refusal once per application and request (a concurrent collect run may have kept it first)."""
    try:
        with transaction.atomic():
            CreditVerdictRefusal.objects.get_or_create(
                application=application,
                external_reference=verdict.public_id,
                defaults={
                    "reason": reason,
                    "checked_purpose": verdict.purpose,
                    "checked_amount": verdict.amount,
                    "checked_currency": verdict.currency,
                    "checked_term_months": verdict.term_months,
                    "verdict_decided_at": verdict.decided_at,
                },
            )
    except IntegrityError:
        pass


def _first_match(
    *, application: Application, verdicts: Iterable[LeaseApplicationVerdict]
) -> LeaseApplicationVerdict | None:
    now = timezone.now()
    for verdict in verdicts:
        if not _matches(application=application, verdict=verdict):
            logger.info(
                "credit check %s names application %s of another party; ignored", verdict.public_id, application.pk
            )
            continue
        reason = verdict_refusal_reason(application=application, verdict=verdict, now=now)
        if reason is None:
            return verdict
        logger.info("credit check %s refused for application %s: %s", verdict.public_id, application.pk, reason)
        _refusal_record(application=application, verdict=verdict, reason=reason)
    return None


def _record(*, application: Application, verdict: LeaseApplicationVerdict) -> bool:
    try:
        with transaction.atomic():
            application_credit_verdict_record(
                application_id=application.pk,
                verdict=verdict.outcome,
                source="credential",
                external_reference=verdict.public_id,
            )
    except ApplicationStateError:
        # Recorded meanwhile (a manual verdict, or a concurrent collect run): the first verdict stands.
        return False
    return True


def application_credit_verdicts_collect(*, application_ids: Iterable[int] | None = None) -> int:
    """Records, for each application in `credit_check_pending` (all of them, or only ``application_ids``), the oldest
    matching credit-check verdict whose terms cover it, keeping a refusal for each matching one that does not;
    returns how many applications it moved on."""
    pending = (
        Application.objects.filter(status=ApplicationStatus.CREDIT_CHECK_PENDING)
        .select_related("quote__product")
        .order_by("pk")
    )
    if application_ids is not None:
        pending = pending.filter(pk__in=list(application_ids))
    recorded, last_pk = 0, 0
    while batch := list(pending.filter(pk__gt=last_pk)[:BATCH_SIZE]):
        last_pk = batch[-1].pk
        by_application: dict[int, list[LeaseApplicationVerdict]] = {}
        for verdict in _verdicts_for(application_ids=[app.pk for app in batch]):
            by_application.setdefault(verdict.application_id, []).append(verdict)
        for application in batch:
            match = _first_match(application=application, verdicts=by_application.get(application.pk, ()))
            if match is not None and _record(application=application, verdict=match):
                recorded += 1
    return recorded
