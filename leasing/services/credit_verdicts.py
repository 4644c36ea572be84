"""Collects credit-check verdicts from the dealer credit-check flow (identity) for applications still waiting.

Identity keeps a dealer's lease application number as an opaque reference and never reads leasing; leasing pulls
the recorded verdicts and applies one only when the request came from the application's dealer organisation and was
answered by the application's customer. A verdict for anyone else's application is ignored, so a dealer who types a
foreign number changes nothing. Runs from beat (`leasing.credit_verdicts_collect`) and when the application page
opens; running it twice records nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from identity.selectors_credit_checks import LeaseApplicationVerdict, credit_check_verdicts_for_lease_applications
from leasing.errors import ApplicationStateError
from leasing.models import Application, ApplicationStatus
from leasing.services.applications import application_credit_verdict_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


def _matches(*, application: Application, verdict: LeaseApplicationVerdict) -> bool:
    return (
        application.dealer_organisation_id is not None
        and verdict.dealer_organisation_id == application.dealer_organisation_id
        and verdict.customer_id == application.customer_id
    )


def _first_match(
    *, application: Application, verdicts: Iterable[LeaseApplicationVerdict]
) -> LeaseApplicationVerdict | None:
    for verdict in verdicts:
        if _matches(application=application, verdict=verdict):
            return verdict
        logger.info("credit check %s names application %s of another party; ignored", verdict.public_id, application.pk)
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
    matching credit-check verdict; returns how many applications it moved on."""
    pending = Application.objects.filter(status=ApplicationStatus.CREDIT_CHECK_PENDING).order_by("pk")
    if application_ids is not None:
        pending = pending.filter(pk__in=list(application_ids))
    recorded, last_pk = 0, 0
    while batch := list(pending.filter(pk__gt=last_pk)[:BATCH_SIZE]):
        last_pk = batch[-1].pk
        by_application: dict[int, list[LeaseApplicationVerdict]] = {}
        for verdict in credit_check_verdicts_for_lease_applications(application_ids=[app.pk for app in batch]):
            by_application.setdefault(verdict.application_id, []).append(verdict)
        for application in batch:
            match = _first_match(application=application, verdicts=by_application.get(application.pk, ()))
            if match is not None and _record(application=application, verdict=match):
                recorded += 1
    return recorded
