"""Bearer-token authentication for the API (`Authorization: Bearer fl_...`); tokens are looked up by hash."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.locale import user_locale_activate
from accounts.models import ApiToken, DealerOrganisation, User
from accounts.services import api_token_hash
from core.sql import prepared_cursor

# How stale `ApiToken.last_used_at` may be. Writing it on every call would add a write and a commit to each API
# request, more than the work of a hot endpoint such as a redemption; staff need the day, not the second.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Tokens are issued to second-factor-verified users, so a token request counts as verified."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.") from error
        token = api_token_with_user(key_hash=api_token_hash(raw))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.user.is_verified = lambda: True  # type: ignore[attr-defined]
        # The dealer system's answers (error details, dates) in the token owner's language and zone, as their pages.
        user_locale_activate(request._request, token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def api_token_with_user(*, key_hash: str) -> ApiToken | None:
    """The unrevoked token with `key_hash`, its user and the user's dealer organisation, from one query.

    What `ApiToken.objects.select_related("user", "user__dealer_organisation").filter(...).first()` returns, without
    compiling that query on every request: its SQL is built once per process from the models' fields (compiling it
    took about as long as PostgreSQL took to answer it), and the three rows become model instances as Django makes
    them (the database's value converters, then `Model.from_db`; PostgreSQL needs no converter for these fields,
    SQLite's text dates and integer booleans do). PostgreSQL prepares it once per connection (`prepared_cursor`):
    planning the join took it longer than running it."""
    sql, shapes = _token_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    offset = 0
    for model, names, converters in shapes:
        values = row[offset : offset + len(names)]
        offset += len(names)
        if values[0] is None:
            instances.append(None)
            continue
        if converters:
            values = list(values)
            for position, functions, expression in converters:
                for function in functions:
                    values[position] = function(values[position], expression, connection)
        instances.append(model.from_db(connection.alias, names, values))
    token, user, organisation = instances
    user.dealer_organisation = organisation  # type: ignore[union-attr]
    token.user = user  # type: ignore[union-attr,assignment]
    return token  # type: ignore[return-value]


_Converters = list[tuple[int, list[Any], Any]]


@functools.cache
def _token_query() -> tuple[str, list[tuple[type, list[str], _Converters]]]:
    quote = connection.ops.quote_name
    shapes: list[tuple[type, list[str], _Converters]] = []
    columns: list[str] = []
    for alias, model in (("t", ApiToken), ("u", User), ("o", DealerOrganisation)):
        fields = [model._meta.pk, *(f for f in model._meta.concrete_fields if not f.primary_key)]
        converters: _Converters = []
        for position, field in enumerate(fields):
            expression = field.get_col(alias)
            functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
            if functions:
                converters.append((position, functions, expression))
        shapes.append((model, [field.attname for field in fields], converters))
        columns += [f"{alias}.{quote(field.column)}" for field in fields]
    token_column = ApiToken._meta.get_field
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608 - names from the models
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = t.{quote(token_column('user').column)} "
        f"LEFT JOIN {quote(DealerOrganisation._meta.db_table)} o ON o.{quote(DealerOrganisation._meta.pk.column)} = "
        f"u.{quote(User._meta.get_field('dealer_organisation').column)} "
        f"WHERE t.{quote(token_column('key_hash').column)} = %s AND t.{quote(token_column('revoked_at').column)} IS NULL"
    )
    return sql, shapes
