"""The connections' list dumpers and array loaders (portal.database): psycopg's bytes and values, and no reference
cycle left for the garbage collector by a statement with a list among its values or an array in its result."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer

from core.sql import prepared_cursor
from portal.database import base as database

ACYCLIC = database._acyclic_adapters(psycopg.adapters)

# PostgreSQL's text has no NUL character, and UTF-8 no lone surrogate; anything else may be in a value, quotes and
# backslashes included.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
flat_lists = st.lists(st.one_of(st.none(), texts), max_size=8) | st.lists(
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=8
)
nested_lists = st.lists(st.lists(st.integers(-1000, 1000), min_size=2, max_size=2), min_size=1, max_size=3)
HANDPICKED = [
    ["", "NULL", "null", 'a "quoted" word', "back\\slash", "a,b", "{braces}", " spaced ", "tab\there", "ünï"],
    [None, "x", None],
    [None],
    [],
    [1, -2, 2**40],
    [[1, 2], [3, 4]],
]


def _dumped(adapters: Any, value: list[Any], format: PyFormat) -> tuple[int, bytes | None]:
    dumper = Transformer(adapters).get_dumper(value, format)
    dumped = dumper.dump(value)
    return dumper.oid, None if dumped is None else bytes(dumped)


@pytest.mark.parametrize("value", HANDPICKED)
@pytest.mark.parametrize("format", [PyFormat.TEXT, PyFormat.BINARY, PyFormat.AUTO])
def test_a_list_dumps_to_psycopgs_bytes_and_type(value: list[Any], format: PyFormat) -> None:
    assert _dumped(ACYCLIC, value, format) == _dumped(psycopg.adapters, value, format)


@given(value=flat_lists | nested_lists)
def test_any_list_dumps_to_psycopgs_bytes_and_type(value: list[Any]) -> None:
    for format in (PyFormat.TEXT, PyFormat.BINARY):
        assert _dumped(ACYCLIC, value, format) == _dumped(psycopg.adapters, value, format)


@pytest.mark.django_db
def test_the_portals_connections_dump_and_load_with_them() -> None:
    with connection.cursor() as cursor:
        adapters = cursor.connection.adapters
    assert adapters.get_dumper(list, PyFormat.TEXT) is database._AcyclicListDumper
    assert adapters.get_dumper(list, PyFormat.BINARY) is database._AcyclicListBinaryDumper
    text_array = psycopg.adapters.types["text"].array_oid
    assert issubclass(adapters.get_loader(text_array, psycopg.pq.Format.TEXT), database._AcyclicArrayLoader)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [HANDPICKED[0], [None, "x", None], [], ["a"]])
def test_text_arrays_travel_both_ways_unchanged(value: list[Any]) -> None:
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::text[], %b::text[]", [value, value])
        assert cursor.fetchone() == (value, value)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[], %s::text[]", [[1, None, 2**40], value])
        assert cursor.fetchone() == ([1, None, 2**40], value)


def _cyclic_garbage(run: Callable[[], None]) -> list[str]:
    """The types of the objects that `run` left to the garbage collector: unreachable, but not freed when their last
    outside reference went."""
    gc.collect()
    gc.disable()
    try:
        run()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return sorted({type(found).__qualname__ for found in gc.garbage})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        gc.collect()


def _statements(cursor: Any) -> None:
    cursor.execute("SELECT %s::bigint[], %s::text[]", [[1, 2, 3], ["a", 'b "c"']])
    cursor.fetchall()
    cursor.execute("SELECT %b::text[]", [["a", "b"]])
    cursor.fetchall()


@pytest.mark.django_db
def test_statements_with_lists_and_arrays_leave_no_cyclic_garbage() -> None:
    def portal() -> None:
        for _ in range(5):
            with prepared_cursor() as cursor:
                _statements(cursor)
            with connection.cursor() as cursor:
                _statements(cursor)

    assert _cyclic_garbage(portal) == []


@pytest.mark.django_db
def test_psycopgs_own_adapters_leave_cycles_there(raw_connection: psycopg.Connection) -> None:
    """The measurement above sees the cycles it is meant to: the same statements with psycopg's adapters leave them."""

    def plain_psycopg() -> None:
        for _ in range(5):
            with raw_connection.cursor() as cursor:
                _statements(cursor)

    assert "Transformer" in _cyclic_garbage(plain_psycopg)
