"""Versioned credit policies of dealer organisations and the rules that turn two disclosed claims into a verdict.

Score bands run from A (best) to E; "band X or better" means X or a letter before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext

from accounts.models import DealerOrganisation, User
from core.errors import ValidationFailed
from core.sql import CompiledQuery
from credit_checks.models import CreditCheckPurpose, CreditPolicy
from identity.credentials.types import SCORE_BANDS

DEFAULT_MINIMUM_SCORE_BAND = "C"
DEFAULT_REFERRAL_SCORE_BAND = "D"
DEFAULT_MAX_CREDENTIAL_AGE_DAYS = 90


@dataclass(frozen=True)
class PolicyOutcome:
    """The automated outcome (approved, declined, referred) and the rule codes that produced it."""

    outcome: str
    rule_results: tuple[str, ...]


# Compiled once per process: every decided credit check reads it (the model orders by version, newest first).
_POLICY_NEWEST = CompiledQuery(
    lambda *, dealer_organisation_id, purpose: CreditPolicy.objects.filter(
        dealer_organisation_id=dealer_organisation_id, purpose=purpose
    )[:1],
    dealer_organisation_id=int,
    purpose=str,
)


def credit_policy_current(*, dealer_organisation: DealerOrganisation, purpose: str) -> CreditPolicy:
    """The newest version of the organisation's policy for ``purpose``; version 1 with the portal defaults is made on
    first use so every verdict names a version."""
    if purpose not in CreditCheckPurpose.values:
        raise ValidationFailed(gettext("Unknown purpose."), fields={"purpose": [gettext("Unknown.")]})
    policy = _POLICY_NEWEST.first(dealer_organisation_id=dealer_organisation.pk, purpose=purpose)
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return CreditPolicy.objects.create(
                dealer_organisation=dealer_organisation,
                purpose=purpose,
                version=1,
                minimum_score_band=DEFAULT_MINIMUM_SCORE_BAND,
                referral_score_band=DEFAULT_REFERRAL_SCORE_BAND,
                max_credential_age_days=DEFAULT_MAX_CREDENTIAL_AGE_DAYS,
            )
    except IntegrityError:
        return CreditPolicy.objects.get(dealer_organisation=dealer_organisation, purpose=purpose, version=1)


@transaction.atomic
def credit_policy_version_create(
    *,
    dealer_organisation: DealerOrganisation,
    purpose: str,
    minimum_score_band: str,
    referral_score_band: str,
    max_credential_age_days: int,
    created_by: User | None = None,
) -> CreditPolicy:
    """A new version of the policy; earlier versions and the verdicts that name them are left exactly as they were."""
    if minimum_score_band not in SCORE_BANDS or referral_score_band not in SCORE_BANDS:
        raise ValidationFailed(gettext("Unknown score band."), fields={"minimum_score_band": list(SCORE_BANDS)})
    if referral_score_band < minimum_score_band:
        raise ValidationFailed(
            gettext("The referral band cannot be better than the minimum band."),
            fields={"referral_score_band": [gettext("Too good.")]},
        )
    if max_credential_age_days < 1:
        raise ValidationFailed(
            gettext("At least one day."), fields={"max_credential_age_days": [gettext("At least 1.")]}
        )
    credit_policy_current(dealer_organisation=dealer_organisation, purpose=purpose)
    # Concurrent new versions queue on the first version's row (this app's own; version 1 always exists by now), so
    # each reads the latest number after the one before it committed.
    CreditPolicy.objects.select_for_update().get(dealer_organisation=dealer_organisation, purpose=purpose, version=1)
    latest = CreditPolicy.objects.filter(dealer_organisation=dealer_organisation, purpose=purpose).aggregate(
        latest=Max("version")
    )["latest"]
    return CreditPolicy.objects.create(
        dealer_organisation=dealer_organisation,
        purpose=purpose,
        version=latest + 1,
        minimum_score_band=minimum_score_band,
        referral_score_band=referral_score_band,
        max_credential_age_days=max_credential_age_days,
        created_by=created_by,
    )


def credit_policy_apply(
    *,
    policy: CreditPolicy,
    score_band: str,
    ceiling: int,
    ceiling_currency: str,
    instalment: int,
    currency: str,
    credential_valid_from: datetime | None,
    now: datetime,
) -> PolicyOutcome:
    """Approve when every rule passes; decline on a band worse than the referral band or a ceiling (minor units per
    month) below the instalment; refer a band between minimum and referral band, a stale credential, or a ceiling in
    another currency (a person compares those)."""
    declined: list[str] = []
    referred: list[str] = []
    if score_band not in SCORE_BANDS or score_band > policy.referral_score_band:
        declined.append("score_band_below_referral")
    elif score_band > policy.minimum_score_band:
        referred.append("score_band_below_minimum")
    if ceiling_currency != currency:
        referred.append("ceiling_currency_differs")
    elif ceiling < instalment:
        declined.append("ceiling_below_instalment")
    max_age = timedelta(days=policy.max_credential_age_days)
    if credential_valid_from is None or now - credential_valid_from > max_age:
        referred.append("credential_too_old")
    if declined:
        return PolicyOutcome("declined", tuple(declined + referred))
    if referred:
        return PolicyOutcome("referred", tuple(referred))
    return PolicyOutcome("approved", ("all_rules_passed",))
