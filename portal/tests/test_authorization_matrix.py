"""Runs every app's authorization matrix and checks that every route of the URLconf is in one of them."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.roles import Role
from conftest import login_client
from portal.authorization import Case

MATRIX_APPS = ["accounts", "identity", "credit_checks", "payments", "leasing", "machines"]


def _all_cases() -> list[Case]:
    cases: list[Case] = []
    for app in MATRIX_APPS:
        try:
            module = importlib.import_module(f"{app}.tests.authorization")
        except ModuleNotFoundError:
            continue
        cases.extend(module.MATRIX)
    return cases


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    routes: list[str] = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_routes(entry, route))
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


CASES = _all_cases()
VISITORS = ["anonymous", "customer", "dealer", "back_office", "other_owner"]


def test_every_route_is_in_an_authorization_matrix():
    assert apps.is_installed("accounts")
    covered = {case.route for case in CASES}

    missing = [route for route in _routes() if route not in covered and not route.startswith("static/")]

    assert missing == []


def _client_for(visitor: str, make_user) -> tuple[Client, object]:
    if visitor == "anonymous":
        return Client(), None
    role = {"customer": Role.CUSTOMER, "dealer": Role.DEALER, "back_office": Role.BACK_OFFICE}.get(visitor, Role.DEALER)
    user = make_user(role)
    return login_client(user), user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "visitor"),
    [
        pytest.param(case, visitor, id=f"{case.name}-{visitor}")
        for case in CASES
        for visitor in VISITORS
        if visitor in case.expected
    ],
)
def test_authorization_matrix(case: Case, visitor: str, make_user):
    client, user = _client_for(visitor, make_user)
    path = case.path
    if case.make_object is not None:
        owner = make_user(Role.DEALER) if visitor in ("other_owner", "anonymous", "customer") or user is None else user
        path = path.format(object=case.make_object(owner))
    body = json.dumps(case.body) if case.body is not None else None

    response = client.generic(case.method, path, body or "", content_type="application/json", headers=case.headers)

    assert response.status_code == case.expected[visitor], response.content[:300]
    if path.startswith("/api/") and response.status_code >= 400:
        assert set(response.json()) == {"code", "detail", "fields"}
