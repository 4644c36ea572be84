"""SQL compiled by Django's ORM, kept apart from sending it.

A `Statement` is SQL with `%s` placeholders and its parameters, as Django's compilers produce them, for a write that
travels with another in one round trip: the caller hands it to code that sends it together with its own
(`payments.ledger.client.transfer_post_with`). A `CompiledQuery` is a read on a hot path whose SQL is compiled once
per process instead of once per request.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection, models
from django.db.backends.utils import CursorWrapper
from django.db.models.query import ModelIterable, QuerySet, get_related_populators
from django.db.models.sql import InsertQuery

Statement = tuple[str, Sequence[Any]]
M = TypeVar("M", bound=models.Model)


def insert_statement(instance: models.Model) -> Statement:
    """The INSERT of the unsaved `instance`, returning its primary key. Compiling it applies what `save()` would before
    writing (defaults, `auto_now_add`) to `instance`; the caller sets the primary key from what the statement returned.

    The SQL of a model's INSERT is the same every time: it is compiled once per model and database alias, and each
    call only prepares the values as Django's compiler does (`pre_save`, `get_db_prep_save`). Fields that place their
    values themselves (`get_placeholder`) and expression values take Django's whole compilation every time.
    """
    meta = instance._meta
    fields = _insert_fields(type(instance))
    key = (type(instance), connection.alias)
    sql = _INSERT_SQL.get(key)
    if sql is not None:
        values = [field.pre_save(instance, True) for field in fields]
        if not any(hasattr(value, "resolve_expression") for value in values):
            return sql, [
                field.get_db_prep_save(value, connection=connection)
                for field, value in zip(fields, values, strict=True)
            ]
    query = InsertQuery(type(instance))
    query.insert_values(fields, [instance], raw=False)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    if not any(hasattr(field, "get_placeholder") for field in fields):
        _INSERT_SQL[key] = sql
    return sql, params


_INSERT_SQL: dict[tuple[type[models.Model], str], str] = {}


@functools.cache
def _insert_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    meta = model._meta
    return [field for field in meta.local_concrete_fields if not field.generated and field is not meta.auto_field]


def statements_compose(statements: Sequence[Statement]) -> list[str]:
    """The complete SQL text of each statement, its values quoted into it on the client, as Django's
    `connection.ops.compose_sql` gives it (PostgreSQL only), with one psycopg client cursor for all of them instead of
    a Django cursor and a client cursor for each."""
    if not statements:
        return []
    from psycopg import ClientCursor  # the PostgreSQL driver: only imported where it is the database

    connection.ensure_connection()
    composer = ClientCursor(connection.connection)
    try:
        return [composer.mogrify(sql, params) for sql, params in statements]
    finally:
        composer.close()


def saved_mark(instance: models.Model, *, primary_key: Any) -> None:
    """Marks `instance`, written by its `insert_statement`, as saved with `primary_key` (as text from the database)."""
    instance.pk = instance._meta.pk.to_python(primary_key)
    instance._state.adding = False
    instance._state.db = connection.alias


class CompiledQuery(Generic[M]):
    """A queryset compiled to SQL once per process and then only run with new values.

    Building and compiling a queryset with annotations and subqueries takes Django more time than PostgreSQL takes to
    answer it (a redemption's code lookup was half of the portal's own time in a redemption). `build` makes the
    queryset from keyword values of the types named in `kinds`; it is called once per database alias, with marker
    values, and the SQL is kept with the places where the markers landed among its parameters. Each `fetch` runs that
    SQL with the real values and makes model instances the way Django's `ModelIterable` does (`select_related` objects
    and annotations included), so the rows, the instances and the SQL are those of the queryset itself.

    Only for querysets whose shape does not depend on the values (no `None` that would become `IS NULL`, no value-
    dependent branches in `build`) and that yield model instances.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **kinds: type) -> None:
        self._build = build
        self._kinds = kinds
        self._compiled: dict[str, _Compiled] = {}

    def fetch(self, **values: Any) -> list[M]:
        """The instances of the queryset `build(**values)` would yield. Compiles on first use (inside the caller's
        transaction: a `select_for_update` query compiles only there)."""
        if values.keys() != self._kinds.keys():
            raise TypeError(f"fetch takes exactly {sorted(self._kinds)}")
        for name, value in values.items():
            if not isinstance(value, self._kinds[name]) or isinstance(value, bool):
                raise TypeError(f"{name} must be a {self._kinds[name].__name__}, not {type(value).__name__}")
        compiled = self._compiled.get(connection.alias)
        if compiled is None:
            compiled = self._compiled.setdefault(connection.alias, self._compile())
        params = [
            value if not name else values[name] if convert is None else convert(values[name])
            for name, convert, value in compiled.slots
        ]
        with prepared_cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [compiled.instance(row) for row in compiled.converted(rows)]

    def first(self, **values: Any) -> M | None:
        """The first instance `fetch(**values)` yields, or None (for a queryset of at most one row: a lookup by a
        unique value, sliced `[:1]`)."""
        found = self.fetch(**values)
        return found[0] if found else None

    def _compile(self) -> _Compiled:
        markers = {name: _marker(kind, index) for index, (name, kind) in enumerate(self._kinds.items())}
        queryset = self._build(**markers)
        if queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
            raise ValueError("a compiled query yields model instances, without prefetching")
        if queryset._known_related_objects:  # type: ignore[attr-defined]
            raise ValueError("a compiled query cannot be a related manager's queryset")
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        slots: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        found: set[str] = set()
        for param in params:
            slot = _marker_slot(param, markers)
            if slot is None:
                slots.append(("", None, param))
            else:
                slots.append((slot[0], slot[1], None))
                found.add(slot[0])
        if found != markers.keys():
            raise ValueError(f"the values {sorted(markers.keys() - found)} did not reach the SQL as parameters")
        return _Compiled(sql=sql, slots=slots, compiler=compiler)


def row_with(model: type[M], field: str, kind: type) -> CompiledQuery[M]:
    """A compiled read of the primary key of one row whose `field` equals the value given under that name: a hot
    path's existence check (a replay, a registration) without Django building and compiling `.exists()` each time."""
    pk_name = model._meta.pk.name
    return CompiledQuery(
        lambda **values: model._default_manager.filter(**values).only(pk_name).order_by()[:1], **{field: kind}
    )


class _Compiled:
    """The SQL of a `CompiledQuery`, its parameter slots (the value's name and conversion, or a fixed value), and the
    compiler that made it, which knows how its rows become instances."""

    def __init__(self, *, sql: str, slots: list[tuple[str, Callable[[Any], Any] | None, Any]], compiler: Any) -> None:
        self.sql = sql
        self.slots = slots
        self.compiler = compiler
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        self._model = klass_info["model"]
        self._start, self._end = select_fields[0], select_fields[-1] + 1
        self._init_list = [column[0].target.attname for column in compiler.select[self._start : self._end]]
        self._related = get_related_populators(klass_info, compiler.select, connection.alias)  # type: ignore[call-arg]
        self._annotations = list(compiler.annotation_col_map.items())
        # What `compiler.results_iter` works out again for every fetch: the value converters of the selected columns.
        self._fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        self._converters = compiler.get_converters(self._fields)
        self._has_composite_fields = compiler.has_composite_fields(self._fields)

    def converted(self, rows: Sequence[Sequence[Any]]) -> Iterable[Sequence[Any]]:
        """`rows` as `compiler.results_iter` hands them on: through the columns' converters, composite keys as tuples."""
        converted: Iterable[Sequence[Any]] = rows
        if self._converters:
            converted = self.compiler.apply_converters(converted, self._converters)
        if self._has_composite_fields:
            converted = self.compiler.composite_fields_to_tuples(converted, self._fields)
        return converted

    def instance(self, row: Sequence[Any]) -> Any:
        instance = self._model.from_db(connection.alias, self._init_list, row[self._start : self._end])
        for populator in self._related:
            populator.populate(row, instance)
        for name, position in self._annotations:
            setattr(instance, name, row[position])
        return instance


def prepared_cursor() -> CursorWrapper:
    """A cursor whose statements PostgreSQL prepares once per connection and then only executes with new values (the
    portal's backend, portal.database), for the fixed statements of hot paths: planning the token lookup or a
    redemption's code lookup took PostgreSQL longer than running it. Any other database: its usual cursor. Values are
    bound by the server: a value whose type PostgreSQL cannot infer from its place needs a cast in the SQL."""
    make = getattr(connection, "prepared_cursor", None)
    return make() if make is not None else connection.cursor()


def _marker(kind: type, index: int) -> Any:
    if kind is int:
        return -(2**62) - index
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is str:
        return f"compiled-query-marker-{index}-{uuid.uuid4().hex}"
    raise TypeError(f"a compiled query takes int, str or UUID values, not {kind.__name__}")


def _uuid_hex(value: uuid.UUID) -> str:
    return value.hex


def _marker_slot(param: Any, markers: dict[str, Any]) -> tuple[str, Callable[[Any], Any] | None] | None:
    """Which value `param` is (and the conversion the queryset applied to it: none, `str`, a UUID's hex or the
    backend's integer type), or None for a parameter of the query itself. A parameter that merely contains a marker (a
    LIKE pattern) is refused: it cannot be replayed."""
    for name, marker in markers.items():
        if type(param) is type(marker) and param == marker:
            return name, None
        if type(marker) is int and isinstance(param, int) and param == marker:
            return name, type(param)  # an integer the backend typed for the server (psycopg's Int4 for a Value)
        if isinstance(param, str) and param == str(marker):
            return name, str
        if isinstance(marker, uuid.UUID) and param == marker.hex and not connection.features.has_native_uuid_field:
            return name, _uuid_hex  # Django stores a UUID as its hex where the database has no uuid type (SQLite)
        if str(marker) in str(param):
            raise ValueError(f"the value {name} reached the SQL transformed ({param!r}); it cannot be replayed")
    return None


def postgresql_only(*, install: str, remove: str) -> Any:
    """A migration operation that runs `install` (and `remove` when migrating back) on PostgreSQL only: the plain SQL
    functions of hot paths (the ledger's transfer post, the Idempotency-Key claim), which SQLite, the embedded demo's
    database, has no counterpart for; the code that calls them keeps an ORM path there."""
    from django.db import migrations

    def run(sql: str) -> Callable[[Any, Any], None]:
        def operation(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql, params=None)

        return operation

    return migrations.RunPython(run(install), run(remove))
