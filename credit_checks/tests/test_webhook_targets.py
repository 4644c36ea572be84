"""Dealer webhooks never reach the portal's own or internal networks: refused when configured, and refused again at
delivery when the host's DNS answer has changed to an internal address (DNS rebinding), before anything is sent."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.services import api_token_create
from core import outbound
from credit_checks.models import CreditCheckRequest, DealerWebhook, WebhookDelivery
from credit_checks.tests.test_dealer_api_and_webhook import Receiver
from credit_checks.webhooks import WebhookDeliveryFailed, webhook_delivery_attempt, webhook_event_create

pytestmark = pytest.mark.django_db
HOOK_URL = "/api/identity/credit-checks/webhook"
PUBLIC_ADDRESS = "93.184.215.14"  # only ever returned by the test's resolver; never connected to


class Resolver:
    """The DNS the portal sees in these tests: answers set by the test, every question remembered."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.questions: list[str] = []

    def __call__(self, host: str, port: int) -> list[outbound.Address]:
        self.questions.append(host)
        return [ipaddress.ip_address(value) for value in self.answers.get(host, [])]


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    controlled = Resolver()
    monkeypatch.setattr(outbound, "resolve_host", controlled)
    return controlled


@pytest.fixture
def connections(monkeypatch) -> list[tuple[str, int]]:
    """Every TCP connection the portal opens; one to an address off this machine fails the test before it is made."""
    opened: list[tuple[str, int]] = []
    original = socket.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address[0], address[1]
        assert ipaddress.ip_address(host).is_loopback, f"the portal tried to connect to {host}"
        opened.append((host, port))
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return opened


@pytest.fixture
def loopback_receiver() -> Iterator[Receiver]:
    import threading

    started = Receiver()
    thread = threading.Thread(target=started.server.serve_forever, daemon=True)
    thread.start()
    yield started
    started.server.shutdown()
    started.server.server_close()


def _dealer_api(dealer) -> Client:
    _token, raw = api_token_create(user=dealer, name="dealer management system")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _configure(api: Client, url: str):
    return api.put(HOOK_URL, {"url": url}, content_type="application/json")


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("https://127.0.0.1/hook", None),
        ("https://10.0.0.5/hook", None),
        ("https://169.254.169.254/latest/meta-data/", None),
        ("https://[::1]/hook", None),
        ("https://[::ffff:127.0.0.1]/hook", None),
        ("https://[fd00:ec2::254]/latest/meta-data/", None),
        ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data/", None),
        ("https://100.64.0.1/hook", None),
        ("https://0.0.0.0/hook", None),
        ("https://192.168.1.1:8443/hook", None),
        ("https://hooks.dealer.test/finlab", ["127.0.0.1"]),
        ("https://hooks.dealer.test/finlab", ["10.20.30.40"]),
        ("https://hooks.dealer.test/finlab", ["169.254.169.254"]),
        ("https://hooks.dealer.test/finlab", ["::1"]),
        ("https://hooks.dealer.test/finlab", [PUBLIC_ADDRESS, "172.16.0.1"]),
    ],
    ids=[
        "loopback",
        "private-10",
        "cloud-metadata",
        "ipv6-loopback",
        "ipv4-mapped-loopback",
        "ipv6-metadata",
        "nat64-metadata",
        "carrier-grade-nat",
        "unspecified",
        "private-192-168",
        "name-to-loopback",
        "name-to-private",
        "name-to-metadata",
        "name-to-ipv6-loopback",
        "name-with-one-private-answer",
    ],
)
def test_hole_9_webhook_urls_that_reach_internal_addresses_are_refused_when_configured(
    dealer, resolver, connections, url, answers
):
    resolver.answers["hooks.dealer.test"] = answers or []
    api = _dealer_api(dealer)
    first = _configure(api, f"https://{PUBLIC_ADDRESS}/finlab")
    assert first.status_code == 200
    before = DealerWebhook.objects.values_list("url", "encrypted_secret").get()

    response = _configure(api, url)

    assert (response.status_code, response.json()["code"]) == (422, "webhook_address_forbidden")
    assert response.json()["fields"] == {"url": ["address_forbidden"]}
    assert DealerWebhook.objects.values_list("url", "encrypted_secret").get() == before
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [f"http://{PUBLIC_ADDRESS}/hook", "ftp://hooks.dealer.test/hook", "https://user:secret@hooks.dealer.test/hook"],
    ids=["plain-http", "not-http", "credentials-in-the-url"],
)
def test_webhook_urls_must_be_https_without_credentials_outside_development(dealer, resolver, url):
    resolver.answers["hooks.dealer.test"] = [PUBLIC_ADDRESS]

    response = _configure(_dealer_api(dealer), url)

    assert (response.status_code, response.json()["code"]) == (422, "webhook_url_invalid")
    assert DealerWebhook.objects.count() == 0


def test_a_public_name_and_a_name_that_does_not_resolve_yet_are_accepted(dealer, resolver, connections):
    resolver.answers["hooks.dealer.test"] = [PUBLIC_ADDRESS, "2a00:1450:4001:80b::200e"]
    api = _dealer_api(dealer)

    public = _configure(api, "https://hooks.dealer.test/finlab")
    not_yet = _configure(api, "https://not-yet.dealer.test/finlab")

    assert (public.status_code, not_yet.status_code) == (200, 200)
    assert DealerWebhook.objects.get().url == "https://not-yet.dealer.test/finlab"
    assert connections == []


def _open_credit_check(api: Client) -> CreditCheckRequest:
    created = api.post(
        "/api/identity/credit-checks",
        {"purpose": "financing", "amount": 399_00, "currency": "EUR", "termMonths": 48},
        content_type="application/json",
    )
    assert created.status_code == 201
    return CreditCheckRequest.objects.get(public_id=created.json()["id"])


def test_hole_9_a_delivery_whose_host_now_resolves_to_an_internal_address_is_refused_and_not_sent(
    dealer, resolver, connections, loopback_receiver, settings, caplog, django_capture_on_commit_callbacks
):
    """DNS rebinding: the name was public when configured and points at the portal's own machine at delivery."""
    settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True  # development settings; loopback stays forbidden
    port = loopback_receiver.server.server_address[1]
    resolver.answers["hooks.dealer.test"] = [PUBLIC_ADDRESS]
    api = _dealer_api(dealer)
    assert _configure(api, f"http://hooks.dealer.test:{port}/finlab-hook").status_code == 200
    with django_capture_on_commit_callbacks():
        delivery = webhook_event_create(request=_open_credit_check(api))

    resolver.answers["hooks.dealer.test"] = ["127.0.0.1"]
    with pytest.raises(WebhookDeliveryFailed):  # the task retries later with backoff, checking the name again
        webhook_delivery_attempt(delivery_id=delivery.pk)

    assert loopback_receiver.calls == []
    assert connections == []
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (delivery.attempts, delivery.last_status_code, delivery.delivered_at) == (1, None, None)
    assert f"webhook event {delivery.event_id} not sent: webhook_address_forbidden" in caplog.text


def test_a_delivery_connects_to_the_address_it_checked_and_names_the_host(
    dealer, resolver, connections, loopback_receiver, settings, django_capture_on_commit_callbacks
):
    """The name is resolved once per delivery; the connection goes to that checked address (a later DNS answer
    cannot redirect it) and the request still names the host."""
    settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    port = loopback_receiver.server.server_address[1]
    resolver.answers["hooks.dealer.test"] = ["127.0.0.1"]
    api = _dealer_api(dealer)
    assert _configure(api, f"http://hooks.dealer.test:{port}/finlab-hook").status_code == 200
    with django_capture_on_commit_callbacks():
        delivery = webhook_event_create(request=_open_credit_check(api))
    resolver.questions.clear()

    status = outbound.outbound_post(
        f"http://hooks.dealer.test:{port}/finlab-hook", content=b"{}", headers={}, timeout=10, purpose="webhook"
    )

    assert status == 500  # the receiver answers its first call with 500
    assert resolver.questions == ["hooks.dealer.test"]
    assert connections == [("127.0.0.1", port)]
    assert loopback_receiver.calls[0]["headers"]["Host"] == f"hooks.dealer.test:{port}"
    assert delivery.delivered_at is None


@pytest.mark.parametrize(
    ("address", "is_public"),
    [
        ("93.184.215.14", True),
        ("2a00:1450:4001:80b::200e", True),
        ("127.0.0.2", False),
        ("10.255.255.53", False),
        ("172.31.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::5db8:d70e", True),
    ],
)
def test_which_addresses_are_public(address, is_public):
    assert outbound.address_is_public(ipaddress.ip_address(address)) is is_public


def _tls_receiver_files(folder, *, certificate_name: str) -> tuple[str, str, str]:
    """A test certificate authority and a server certificate for `certificate_name`: (CA, certificate, key) paths."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dealer test CA")])
    authority = (
        x509.CertificateBuilder()
        .subject_name(authority_name)
        .issuer_name(authority_name)
        .public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(authority_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, certificate_name)]))
        .issuer_name(authority_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(certificate_name)]), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tuple(str(path) for path in paths)


@pytest.mark.parametrize(
    ("certificate_name", "expected_status", "requests_received"),
    [("hooks.dealer.test", 200, 1), ("other.dealer.test", 0, 0)],
    ids=["certificate-for-the-name", "certificate-for-another-name"],
)
def test_https_deliveries_to_the_checked_address_send_the_name_for_sni_and_verify_the_certificate_for_it(
    tmp_path, resolver, connections, settings, monkeypatch, certificate_name, expected_status, requests_received
):
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    authority, certificate, key = _tls_receiver_files(tmp_path, certificate_name=certificate_name)
    monkeypatch.setattr(outbound, "tls_context", lambda: ssl.create_default_context(cafile=authority))
    server_names: list[str | None] = []
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, key)
    server_context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    resolver.answers["hooks.dealer.test"] = ["127.0.0.1"]
    try:
        status = outbound.outbound_post(
            f"https://hooks.dealer.test:{port}/finlab", content=b"{}", headers={}, timeout=10, purpose="webhook"
        )
    finally:
        server.shutdown()
        server.server_close()

    assert status == expected_status
    assert connections == [("127.0.0.1", port)]
    assert server_names == ["hooks.dealer.test"]
    assert hosts == [f"hooks.dealer.test:{port}"] * requests_received
