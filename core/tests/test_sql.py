"""core.sql: a query compiled once answers as its queryset does; an INSERT compiled once writes what save() writes."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Concat, Substr, Upper
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken, DealerOrganisation
from accounts.roles import Role
from accounts.services import api_token_create
from core.sql import CompiledQuery, insert_statement, row_with, saved_mark, statements_compose

pytestmark = pytest.mark.django_db


def _tokens(*, user_id: int, name: str) -> models.QuerySet[ApiToken]:
    return (
        ApiToken.objects.select_related("user", "user__dealer_organisation")
        .annotate(
            named_alike=Exists(ApiToken.objects.filter(user_id=OuterRef("user_id"), name=name)),
            user_email_upper=Upper("user__email"),
            label=Concat("name", Value("@"), "user__email", output_field=models.CharField()),
        )
        .filter(user_id=user_id)
        .order_by("pk")
    )


def _same(found: list[ApiToken], expected: list[ApiToken]) -> None:
    def state(instance: models.Model) -> dict[str, object]:
        return {key: value for key, value in vars(instance).items() if not key.startswith("_")}

    assert [state(token) for token in found] == [state(token) for token in expected]
    assert [state(token.user) for token in found] == [state(token.user) for token in expected]
    organisations = [token.user.dealer_organisation for token in found]
    assert [state(o) if o else None for o in organisations] == [
        state(o) if o else None for o in (token.user.dealer_organisation for token in expected)
    ]
    assert all(not token._state.adding and token._state.db == "default" for token in found)


def test_a_compiled_query_answers_as_its_queryset_for_every_value(make_user):
    organisation = DealerOrganisation.objects.create(name="Compiled", slug="compiled")
    dealer = make_user(Role.DEALER, dealer_organisation=organisation)
    customer = make_user(Role.CUSTOMER)
    for user, name in ((dealer, "DMS"), (dealer, "script"), (customer, "DMS")):
        api_token_create(user=user, name=name)
    compiled = CompiledQuery(_tokens, user_id=int, name=str)

    for user, name in ((dealer, "DMS"), (customer, "DMS"), (dealer, "nothing"), (customer, "script")):
        found = compiled.fetch(user_id=user.pk, name=name)
        expected = list(_tokens(user_id=user.pk, name=name))
        assert found and len(found) == len(expected)
        _same(found, expected)
        assert [token.named_alike for token in found] == [token.named_alike for token in expected]

    assert compiled.fetch(user_id=customer.pk + 1000, name="DMS") == []


def test_a_compiled_query_sends_the_querysets_sql(make_user):
    dealer = make_user(Role.DEALER)
    api_token_create(user=dealer, name="DMS")
    compiled = CompiledQuery(_tokens, user_id=int, name=str)

    with CaptureQueriesContext(connection) as compiled_queries:
        compiled.fetch(user_id=dealer.pk, name="DMS")
    with CaptureQueriesContext(connection) as queryset_queries:
        list(_tokens(user_id=dealer.pk, name="DMS"))

    assert [q["sql"] for q in compiled_queries.captured_queries] == [
        q["sql"] for q in queryset_queries.captured_queries
    ]


def test_first_gives_the_one_instance_or_none(make_user):
    dealer = make_user(Role.DEALER)
    token, _ = api_token_create(user=dealer, name="DMS")
    compiled = CompiledQuery(lambda *, name: ApiToken.objects.filter(name=name)[:1], name=str)

    found = compiled.first(name="DMS")

    assert found is not None and found.pk == token.pk
    assert compiled.first(name="nothing") is None


def test_a_compiled_lock_compiles_inside_the_transaction(make_user):
    dealer = make_user(Role.DEALER)
    token, _ = api_token_create(user=dealer, name="DMS")

    def locked(*, token_id: int, name: str) -> models.QuerySet[ApiToken]:
        return ApiToken.objects.select_for_update(of=("self",)).select_related("user").filter(pk=token_id, name=name)

    compiled = CompiledQuery(locked, token_id=int, name=str)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        (found,) = compiled.fetch(token_id=token.pk, name="DMS")
        assert compiled.fetch(token_id=token.pk, name="other") == []

    assert (found.pk, found.user) == (token.pk, dealer)
    assert all(q["sql"].endswith('FOR UPDATE OF "accounts_apitoken"') for q in queries.captured_queries)


def test_an_integer_the_backend_types_for_the_server_is_replayed_with_its_type(make_user):
    dealer = make_user(Role.DEALER)
    api_token_create(user=dealer, name="Dealer management system")

    def part(*, user_id: int, start: int) -> models.QuerySet[ApiToken]:
        return ApiToken.objects.filter(user_id=user_id).annotate(part=Substr("name", Value(start), 6))

    compiled = CompiledQuery(part, user_id=int, start=int)

    for start in (1, 8, 19, 40):
        (found,) = compiled.fetch(user_id=dealer.pk, start=start)
        (expected,) = part(user_id=dealer.pk, start=start)
        assert found.part == expected.part
    assert [compiled.fetch(user_id=dealer.pk, start=start)[0].part for start in (1, 8)] == ["Dealer", "manage"]


def test_a_row_with_a_value_reads_only_its_key_and_finds_what_exists_finds(make_user):
    dealer = make_user(Role.DEALER)
    api_token_create(user=dealer, name="DMS")
    named = row_with(ApiToken, "name", str)

    with CaptureQueriesContext(connection) as queries:
        (found,) = named.fetch(name="DMS")
    assert named.fetch(name="nothing") == [] and not ApiToken.objects.filter(name="nothing").exists()
    assert found.pk == ApiToken.objects.get(name="DMS").pk
    assert found.get_deferred_fields() == {field.attname for field in ApiToken._meta.concrete_fields} - {"id"}
    (sql,) = [query["sql"] for query in queries.captured_queries]
    assert sql.startswith('SELECT "accounts_apitoken"."id" FROM') and "ORDER BY" not in sql


def test_a_value_the_query_reshapes_or_drops_is_refused_when_compiling(make_user):
    dealer = make_user(Role.DEALER)

    def pattern(*, name: str) -> models.QuerySet[ApiToken]:
        return ApiToken.objects.filter(name__contains=name)

    def dropped(*, user_id: int, name: str) -> models.QuerySet[ApiToken]:
        return ApiToken.objects.filter(user_id=user_id)

    def reshaped(*, request: uuid.UUID) -> models.QuerySet[ApiToken]:
        return ApiToken.objects.filter(key_hash=request.hex)

    with pytest.raises(ValueError, match="transformed"):
        CompiledQuery(pattern, name=str).fetch(name="DMS")
    with pytest.raises(ValueError, match="did not reach"):
        CompiledQuery(dropped, user_id=int, name=str).fetch(user_id=dealer.pk, name="DMS")
    with pytest.raises(ValueError, match="did not reach"):
        CompiledQuery(reshaped, request=uuid.UUID).fetch(request=uuid.uuid4())
    compiled = CompiledQuery(dropped, user_id=int, name=str)
    with pytest.raises(TypeError):
        compiled.fetch(user_id=str(dealer.pk), name="DMS")
    with pytest.raises(TypeError):
        compiled.fetch(user_id=None, name="DMS")
    with pytest.raises(TypeError):
        compiled.fetch(user_id=True, name="DMS")
    with pytest.raises(TypeError):
        compiled.fetch(user_id=dealer.pk)


def test_an_insert_compiled_once_writes_what_the_orm_compiles_every_time(make_user):
    """The second and later INSERTs of a model reuse the SQL and prepare their values as Django's compiler does."""
    dealer = make_user(Role.DEALER)
    from django.db.models.sql import InsertQuery

    def compiled_by_django(instance: ApiToken) -> tuple[str, list[object]]:
        fields = [f for f in ApiToken._meta.local_concrete_fields if f is not ApiToken._meta.auto_field]
        query = InsertQuery(ApiToken)
        query.insert_values(fields, [instance], raw=False)
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [ApiToken._meta.pk]
        ((sql, params),) = compiler.as_sql()
        return sql, list(params)

    made = []
    for index in range(3):
        token = ApiToken(user=dealer, name=f"token {index}", prefix="fl_x", key_hash=f"{index:064d}")
        token.last_used_at = dt.datetime(2026, 1, index + 1, tzinfo=dt.UTC) if index else None
        sql, params = insert_statement(token)
        assert (sql, list(params)) == compiled_by_django(token)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            saved_mark(token, primary_key=cursor.fetchone()[0])
        made.append(token)

    stored = {token.pk: token for token in ApiToken.objects.filter(user=dealer)}
    assert [(stored[t.pk].name, stored[t.pk].last_used_at, stored[t.pk].created_at) for t in made] == [
        (t.name, t.last_used_at, t.created_at) for t in made
    ]


def test_a_uuid_the_database_stores_as_hex_is_found_among_the_parameters(monkeypatch):
    """SQLite (the embedded default) has no uuid type: Django passes a UUID's hex, which a compiled query replays.
    Where the database has one, a hex is the query's own reshaping and is refused (above)."""
    from core import sql

    marker = uuid.uuid4()
    other = uuid.uuid4()
    assert sql._marker_slot(marker.hex, {"public_id": marker}) is None  # PostgreSQL: uuid values travel as UUIDs
    monkeypatch.setattr(connection.features, "has_native_uuid_field", False)

    name, convert = sql._marker_slot(marker.hex, {"public_id": marker})

    assert name == "public_id"
    assert convert is not None and convert(other) == other.hex
    assert sql._marker_slot(other.hex, {"public_id": marker}) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="statements are composed for PostgreSQL only")
def test_statements_are_composed_as_djangos_compose_sql():
    statements = [
        ("SELECT %s, %s, %s", ['it\'s "quoted" \\ back', None, uuid.UUID(int=7)]),
        (
            "SELECT %s::timestamptz, %s, %s::jsonb",
            [dt.datetime(2026, 12, 6, 17, 0, tzinfo=dt.UTC), 10**12, '{"a": "b\'c"}'],
        ),
        ("SELECT 1", []),
    ]

    composed = statements_compose(statements)

    assert composed == [connection.ops.compose_sql(sql, params) for sql, params in statements]
    assert statements_compose([]) == []
