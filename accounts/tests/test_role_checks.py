"""Role checks read the role from the user's row: no permission query per request, and a role change, a group
change or a deactivation takes effect on the very next request, by session or by API token."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken, User
from accounts.roles import Role
from accounts.services import api_token_create, role_group_get, user_deactivate, user_role_set
from conftest import login_client

pytestmark = pytest.mark.django_db

ME = "/api/accounts/me"


def _token_client(user: User) -> Client:
    _, raw = api_token_create(user=user, name="DMS")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get(ME).status_code == 200  # stamps the last use; later calls within the minute write nothing
    return client


def test_an_authenticated_api_request_costs_one_query(dealer):
    client = _token_client(dealer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["role"] == "dealer"
    assert response.json()["dealer_organisation"] == dealer.dealer_organisation.slug
    # Token, user, role and dealer organisation in one SELECT; no permission tables read.
    assert len(queries.captured_queries) == 1, [query["sql"] for query in queries.captured_queries]
    assert "auth_permission" not in queries.captured_queries[0]["sql"]


def test_a_dealer_only_endpoint_adds_no_query_for_its_role_check(dealer):
    client = _token_client(dealer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/payments/qr-redemptions/{uuid.uuid4()}")

    # The authentication and the endpoint's own lookup of the redemption, nothing for IsDealer.
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert len(queries.captured_queries) == 2, [query["sql"] for query in queries.captured_queries]


def test_a_role_change_takes_effect_on_the_next_api_request(dealer):
    client = _token_client(dealer)
    detail = f"/api/payments/qr-redemptions/{uuid.uuid4()}"
    assert client.get(detail).status_code == 404

    user_role_set(user=dealer, role=Role.CUSTOMER)

    response = client.get(detail)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert client.get(ME).json()["role"] == "customer"
    assert User.objects.get(pk=dealer.pk).area_role == "customer"
    assert list(User.objects.get(pk=dealer.pk).groups.values_list("name", flat=True)) == ["customer"]


def test_a_role_change_takes_effect_on_the_next_page_request(make_user, dealer_organisation):
    back_office = make_user(Role.BACK_OFFICE)
    client = login_client(back_office)
    assert client.get("/api/accounts/tokens").status_code == 200

    user_role_set(user=back_office, role=Role.DEALER, dealer_organisation=dealer_organisation)
    assert client.get("/api/accounts/tokens").status_code == 200  # dealers may list their tokens too
    assert client.get(ME).json() | {"id": 0, "email": ""} == {
        "id": 0, "email": "", "role": "dealer", "dealer_organisation": dealer_organisation.slug,
    }  # fmt: skip

    user_role_set(user=back_office, role=Role.CUSTOMER)
    response = client.get("/api/accounts/tokens")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_a_dealer_role_needs_an_organisation_and_a_refusal_changes_nothing(customer):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refusal:
        user_role_set(user=customer, role=Role.DEALER)

    assert refusal.value.code == "bad_role"
    stored = User.objects.get(pk=customer.pk)
    assert (stored.area_role, list(stored.groups.values_list("name", flat=True))) == ("customer", ["customer"])


def test_a_deactivated_user_loses_token_and_session_access_on_the_next_request(dealer):
    token_client = _token_client(dealer)
    session_client = login_client(dealer)
    assert session_client.get(ME).status_code == 200

    user_deactivate(user=dealer)

    response = token_client.get(ME)
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")
    response = session_client.get(ME)
    assert response.status_code in (401, 403)
    assert response.json()["code"] in ("not_authenticated", "authentication_failed")
    assert ApiToken.objects.get(user=dealer).revoked_at is None  # refused for the user, not by revoking


def test_group_changes_made_directly_move_the_role_too(dealer):
    client = _token_client(dealer)

    dealer.groups.clear()
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert User.objects.get(pk=dealer.pk).area_role == ""

    role_group_get(role=Role.DEALER).user_set.add(dealer)  # from the group's side
    assert client.get(ME).json()["role"] == "dealer"

    dealer.groups.add(role_group_get(role=Role.BACK_OFFICE))  # two role groups: the higher one counts
    assert client.get(ME).json()["role"] == "back_office"

    role_group_get(role=Role.BACK_OFFICE).user_set.remove(dealer)
    assert client.get(ME).json()["role"] == "dealer"


def test_removing_the_area_permission_from_a_group_removes_the_role_of_its_members(dealer):
    client = _token_client(dealer)
    permission = Permission.objects.get(content_type__app_label="accounts", codename="dealer_area")

    role_group_get(role=Role.DEALER).permissions.remove(permission)
    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")

    permission.group_set.add(Group.objects.get(name="dealer"))  # from the permission's side
    assert client.get(ME).json()["role"] == "dealer"

    permission.group_set.clear()
    assert User.objects.get(pk=dealer.pk).area_role == ""


def test_a_directly_granted_area_permission_gives_the_role(customer):
    permission = Permission.objects.get(content_type__app_label="accounts", codename="back_office_area")

    customer.user_permissions.add(permission)
    assert User.objects.get(pk=customer.pk).role == Role.BACK_OFFICE
    assert customer.role == Role.BACK_OFFICE

    customer.user_permissions.remove(permission)
    assert User.objects.get(pk=customer.pk).role == Role.CUSTOMER


def test_the_migration_fills_the_role_of_existing_users_from_their_groups(customer, dealer, back_office):
    User.objects.update(area_role="")
    dealer.groups.add(role_group_get(role=Role.CUSTOMER))  # highest role wins
    User.objects.update(area_role="")
    migration = importlib.import_module("accounts.migrations.0005_user_area_role")

    migration.fill_area_role(apps, None)

    assert dict(User.objects.values_list("pk", "area_role")) == {
        customer.pk: "customer", dealer.pk: "dealer", back_office.pk: "back_office",
    }  # fmt: skip


def test_deleting_the_role_group_removes_the_role_of_its_members(dealer, customer):
    client = _token_client(dealer)

    Group.objects.get(name="dealer").delete()

    response = client.get(ME)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert dict(User.objects.values_list("pk", "area_role")) == {dealer.pk: "", customer.pk: "customer"}
