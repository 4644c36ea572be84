"""The API token lookup reads the token, its user and the user's organisation in one query, as the ORM would."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.authentication import api_token_with_user
from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_hash

pytestmark = pytest.mark.django_db


def _field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.parametrize("role", ["dealer", "customer"])
def test_the_token_its_user_and_organisation_come_from_one_query_equal_to_the_orms(role, request):
    user = request.getfixturevalue(role)
    token, raw = api_token_create(user=user, name="DMS")
    expected = ApiToken.objects.select_related("user", "user__dealer_organisation").get(pk=token.pk)

    with CaptureQueriesContext(connection) as queries:
        found = api_token_with_user(key_hash=api_token_hash(raw))
        organisation = found.user.dealer_organisation

    assert len(queries.captured_queries) == 1
    assert _field_values(found) == _field_values(expected)
    assert _field_values(found.user) == _field_values(expected.user)
    if expected.user.dealer_organisation is None:
        assert organisation is None
    else:
        assert _field_values(organisation) == _field_values(expected.user.dealer_organisation)
    assert not found._state.adding and not found.user._state.adding


def test_an_unknown_or_revoked_token_finds_nothing(dealer):
    token, raw = api_token_create(user=dealer, name="DMS")
    assert api_token_with_user(key_hash=api_token_hash(raw + "x")) is None
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api_token_with_user(key_hash=api_token_hash(raw)) is None
