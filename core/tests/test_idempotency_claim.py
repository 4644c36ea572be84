"""core.idempotency's claim of a key: its wait for a concurrent holder is bounded, and the bound ends with the claim."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from core import idempotency
from core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def _lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock_timeout is PostgreSQL's")
def test_the_claims_bound_on_waiting_does_not_outlive_the_claim(settings):
    settings.IDEMPOTENCY_LOCK_TIMEOUT_MS = 1234
    with transaction.atomic():
        before = _lock_timeout()
        first = idempotency._claim(scope="user:1", operation="test.op", key="k", fingerprint="f")
        after_insert = _lock_timeout()
        again = idempotency._claim(scope="user:1", operation="test.op", key="k", fingerprint="f")
        after_taken = _lock_timeout()

    assert before != "1234ms"
    assert (after_insert, after_taken) == (before, before)
    assert first is None  # this call claimed the key
    assert again == IdempotencyRecord.objects.get(scope="user:1", operation="test.op", key="k")
