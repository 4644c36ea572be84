"""The token lookup and the compiled queries of hot paths are prepared by PostgreSQL once per connection."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.authentication import api_token_with_user
from accounts.roles import Role
from accounts.services import api_token_create, api_token_hash, user_create
from core.sql import prepared_cursor

pytestmark = pytest.mark.django_db


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_token_lookup_is_prepared_once_and_reused() -> None:
    user = user_create(email="dealer@example.test", password=None, role=Role.CUSTOMER)
    token, raw = api_token_create(user=user, name="DMS")
    other = user_create(email="other@example.test", password=None, role=Role.CUSTOMER)
    _, other_raw = api_token_create(user=other, name="DMS")

    found = api_token_with_user(key_hash=api_token_hash(raw))
    found_other = api_token_with_user(key_hash=api_token_hash(other_raw))

    assert found is not None and found.pk == token.pk and found.user.pk == user.pk
    assert found_other is not None and found_other.user.pk == other.pk
    assert api_token_with_user(key_hash=api_token_hash("fl_unknown")) is None
    lookups = [sql for sql in _prepared_statements() if '"accounts_apitoken" t' in sql]
    assert len(lookups) == 1
    assert "$1" in lookups[0]


def test_a_prepared_statement_is_logged_with_its_values_in_place() -> None:
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute("SELECT %s::text || %s::text", ["fin", "lab"])
        assert cursor.fetchone() == ("finlab",)

    assert [query["sql"] for query in queries.captured_queries] == ["SELECT 'fin'::text || 'lab'::text"]


def test_other_statements_are_not_prepared() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text AS not_prepared", ["x"])
        cursor.execute("SELECT %s::text AS not_prepared", ["y"])

    assert not [sql for sql in _prepared_statements() if "not_prepared" in sql]
