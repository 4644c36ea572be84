import json
import logging

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_live_answers_without_touching_anything(client):
    response = client.get("/health/live")

    assert (response.status_code, response.json()) == (200, {"status": "up"})


def test_ready_checks_database_and_broker(client):
    body = client.get("/health/ready").json()

    assert body["status"] == "up"
    assert set(body["checks"]) == {"database", "broker"}
    assert all(check["status"] == "up" for check in body["checks"].values())


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_ready_reports_a_broker_that_is_down_with_503(client):
    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


@override_settings(TANGLE_NODE_URL="http://127.0.0.1:1")
def test_a_tangle_node_that_is_down_degrades_readiness_without_taking_the_host_out(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["tangle"]["status"] == "down"


@override_settings(TANGLE_NODE_URL="http://127.0.0.1:1", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_a_broker_that_is_down_takes_the_host_out_whatever_the_tangle_node_says(client):
    response = client.get("/health/ready")

    assert (response.status_code, response.json()["status"]) == (503, "down")


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), PORTAL_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_x_forwarded_proto_from_a_client_does_not_make_a_request_secure(client):
    from django.http import HttpRequest

    seen: list[bool] = []

    def spy(request: HttpRequest):
        seen.append(request.is_secure())
        from django.http import HttpResponse

        return HttpResponse()

    from portal.middleware import UntrustedForwardedProtoMiddleware

    guard = UntrustedForwardedProtoMiddleware(spy)
    for peer in ("203.0.113.7", "10.1.2.3"):
        request = HttpRequest()
        request.META = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_PROTO": "https", "SERVER_NAME": "x", "SERVER_PORT": "80"}
        guard(request)

    assert seen == [False, True]


def test_security_headers_are_on_every_page(client):
    response = client.get("/")

    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert len(response.headers["X-Request-ID"]) == 32


def test_the_second_factor_redirect_carries_the_security_headers_too(client, dealer):
    client.force_login(dealer)

    response = client.get("/")

    assert response.status_code == 302 and response.headers["Location"].startswith("/accounts/mfa/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_well_formed_request_id_is_kept_and_a_malformed_one_replaced(client, customer):
    client.force_login(customer)

    response = client.get("/api/accounts/me", headers={"X-Request-ID": "proxy-abc-12345"})

    assert response.headers["X-Request-ID"] == "proxy-abc-12345"
    bogus = client.get("/", headers={"X-Request-ID": "<script>"})
    assert bogus.headers["X-Request-ID"] != "<script>"


def test_json_log_lines_carry_the_request_id_and_no_email(customer, client):
    from pythonjsonlogger.json import JsonFormatter

    from portal.logging import RequestIdFilter, request_id_var

    formatter = JsonFormatter("%(levelname)s %(name)s %(request_id)s %(message)s")
    record = logging.LogRecord("accounts.services", logging.WARNING, __file__, 1, "login failed", None, None)
    token = request_id_var.set("req-12345678")
    try:
        RequestIdFilter().filter(record)
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)

    assert line["request_id"] == "req-12345678"
    assert customer.email not in json.dumps(line)


def test_csrf_is_enforced_on_forms():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"email": "a@b.c", "password": "x"})

    assert response.status_code == 403


def _policy_headers(response) -> tuple[str | None, str | None]:
    return response.headers.get("Content-Security-Policy"), response.headers.get("Content-Security-Policy-Report-Only")


def test_the_policy_built_once_is_the_policy_django_csp_builds(client, settings):
    """The portal's middleware keeps the settings' policy per process; it is django-csp's, and follows the settings."""
    from csp.utils import build_policy

    assert _policy_headers(client.get("/")) == (build_policy(), None)

    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["data:"]}}

    policy, report_only = _policy_headers(client.get("/"))
    assert (policy, report_only) == (build_policy(), build_policy(report_only=True))
    assert "img-src data:" in policy and report_only == "default-src 'none'"


def test_a_response_with_its_own_policy_or_a_nonce_gets_django_csps_handling(rf):
    from csp.decorators import csp_update
    from django.http import HttpResponse

    from portal.middleware import ContentSecurityPolicyMiddleware

    @csp_update({"img-src": ["https://maps.example"]})
    def with_own_policy(request):
        return HttpResponse()

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    own = ContentSecurityPolicyMiddleware(with_own_policy)(rf.get("/"))
    nonce_response = ContentSecurityPolicyMiddleware(with_nonce)(rf.get("/"))

    assert "https://maps.example" in own.headers["Content-Security-Policy"]
    nonce = nonce_response.content.decode()
    assert f"'nonce-{nonce}'" not in nonce_response.headers["Content-Security-Policy"]  # no directive asks for one
    assert (
        nonce_response.headers["Content-Security-Policy"]
        == ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(rf.get("/")).headers[
            "Content-Security-Policy"
        ]
    )


def test_an_exempt_response_and_an_excluded_prefix_get_no_policy(rf, settings):
    from csp.decorators import csp_exempt
    from django.http import HttpResponse

    from portal.middleware import ContentSecurityPolicyMiddleware

    settings.CONTENT_SECURITY_POLICY = {
        "EXCLUDE_URL_PREFIXES": ["/excluded"],
        "DIRECTIVES": {"default-src": ["'self'"]},
    }

    exempt = ContentSecurityPolicyMiddleware(csp_exempt()(lambda request: HttpResponse()))(rf.get("/"))
    excluded = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(rf.get("/excluded/page"))
    kept = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(rf.get("/page"))

    assert "Content-Security-Policy" not in exempt.headers
    assert "Content-Security-Policy" not in excluded.headers
    assert kept.headers["Content-Security-Policy"] == "default-src 'self'"
