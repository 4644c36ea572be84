"""Concurrent policy changes of one dealer queue on the policy's own first version: every change gets the next
version number and none is refused or lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from credit_checks.models import CreditPolicy
from credit_checks.policy import credit_policy_current, credit_policy_version_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CHANGES = 4


def test_concurrent_policy_changes_get_consecutive_versions(dealer):
    organisation = dealer.dealer_organisation
    credit_policy_current(dealer_organisation=organisation, purpose="lease")
    start = threading.Barrier(CHANGES)

    def change(index: int) -> int:
        try:
            start.wait()
            return credit_policy_version_create(
                dealer_organisation=organisation,
                purpose="lease",
                minimum_score_band="C",
                referral_score_band="D",
                max_credential_age_days=index + 1,
                created_by=dealer,
            ).version
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=CHANGES) as pool:
        versions = list(pool.map(change, range(CHANGES)))

    assert sorted(versions) == list(range(2, CHANGES + 2))
    assert sorted(
        CreditPolicy.objects.filter(dealer_organisation=organisation, purpose="lease").values_list("version", flat=True)
    ) == list(range(1, CHANGES + 2))
