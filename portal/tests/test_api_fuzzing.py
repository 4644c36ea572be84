"""schemathesis against the portal's own OpenAPI schema, as each role: no 5xx and no response outside the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services
from accounts.roles import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(db):
    """The schema served by the portal itself, called in-process like Django's test client does.

    Like the test client, keep the test's database connection open across requests (the WSGI handler would
    close it as each request starts and finishes, inside the test's transaction).
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def bearer_by_role(make_user) -> dict[str, dict[str, str]]:
    """One API token per role (dealer and back office tokens stand for second-factor-verified sessions)."""
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in (Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE):
        _, raw = services.api_token_create(user=make_user(role), name="fuzzing")
        headers[role.value] = {"Authorization": f"Bearer {raw}"}
    return headers


@pytest.mark.slow
# One test runs every operation of the schema (46 and growing) for four roles; the default 300 s is a hang guard sized
# for one test, not for the whole API on a busy machine.
@pytest.mark.timeout(1200)
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_within_its_schema_for_every_role(case, bearer_by_role):
    for headers in bearer_by_role.values():
        response = case.call(headers=headers | dict(case.headers or {}))
        case.validate_response(response, checks=CHECKS)
