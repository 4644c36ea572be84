"""Fixtures of the portal's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection


@pytest.fixture
def raw_connection() -> Iterator[psycopg.Connection]:
    """A psycopg connection of its own to the test database, outside Django and its pool, with psycopg's adapters."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"], user=params["USER"], host=params["HOST"], port=params["PORT"] or 5432, autocommit=True
    ) as raw:
        yield raw
