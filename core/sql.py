"""Statements compiled but not sent, for a write that travels with another in one round trip.

A `Statement` is SQL with `%s` placeholders and its parameters, as Django's compilers produce them; the caller hands it
to code that sends it together with its own (`payments.ledger.client.transfer_post_with`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models.sql import InsertQuery

Statement = tuple[str, Sequence[Any]]


def insert_statement(instance: models.Model) -> Statement:
    """The INSERT of the unsaved `instance`, returning its primary key. Compiling it applies what `save()` would before
    writing (defaults, `auto_now_add`) to `instance`; the caller sets the primary key from what the statement returned.
    """
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields if not field.generated and field is not meta.auto_field]
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance], raw=False)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    return sql, params


def saved_mark(instance: models.Model, *, primary_key: Any) -> None:
    """Marks `instance`, written by its `insert_statement`, as saved with `primary_key` (as text from the database)."""
    instance.pk = instance._meta.pk.to_python(primary_key)
    instance._state.adding = False
    instance._state.db = connection.alias
