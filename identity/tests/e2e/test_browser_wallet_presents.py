"""In headless Chromium: the portal's own browser wallet answers OpenID4VP requests like a wallet app. It is reached
by the verifier's browser-wallet link (client_id + request_uri), checks the signed request object before showing
anything, asks consent for exactly the claims of the DCQL query, and answers by direct_post.jwt (JWE made with
WebCrypto) or direct_post with only those disclosures and a key-binding JWT. A changed request object or a client
id its certificate does not name is refused, and nothing is sent."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.utils import timezone

from accounts.roles import Role
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.models import PresentationTransaction
from identity.openid4vp import dcql, transactions, verifier
from identity.tests.e2e.browser_wallet import (
    consent_screen,
    export_backup,
    import_backup,
    log_in,
    open_wallet,
    receive_payment_history,
    stored_entries,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.usefixtures("portal_at_live_server"),
]

PURPOSE = "browser-wallet-test"
ASKED = ("onTimePaymentCount", "arrearsCount")


class Outcomes:
    """What the verifier's handler was told (the live server runs it in its own thread)."""

    def __init__(self) -> None:
        self.verified: list[transactions.VerifiedAnswer] = []
        self.refused: list[str] = []


@pytest.fixture
def outcomes(portal_at_live_server) -> Outcomes:
    seen = Outcomes()
    transactions.presentation_handler_register(
        PURPOSE,
        transactions.PresentationHandler(
            verified=lambda answer: seen.verified.append(answer) or f"{portal_at_live_server}/?shared=1",
            refused=lambda presentation, reason: seen.refused.append(reason),
        ),
    )
    return seen


def open_request(base_url: str, *, response_mode: str = "direct_post.jwt") -> PresentationTransaction:
    query = dcql.dcql_query(dcql.CredentialQuery("history", (f"{base_url}/credentials/types/payment-history",), ASKED))
    return transactions.presentation_transaction_create(
        purpose=PURPOSE, query=query, expires_at=timezone.now() + timedelta(minutes=10), response_mode=response_mode
    )


def status_of(presentation: PresentationTransaction) -> tuple[str, str]:
    presentation.refresh_from_db()
    return presentation.status, presentation.refusal_reason


@pytest.mark.parametrize("response_mode", ["direct_post.jwt", "direct_post"])
def test_the_wallet_shares_only_the_asked_claims_and_follows_the_redirect(
    page, make_user, outcomes, portal_at_live_server, response_mode, screenshot
):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    receive_payment_history(page)
    presentation = open_request(portal_at_live_server, response_mode=response_mode)
    link = verifier.authorization_request_links(presentation).browser_wallet_link
    assert link.startswith(f"{portal_at_live_server}/identity/wallet/openid4vp/?client_id=x509_san_dns%3Alocalhost")
    sent = []
    page.on("request", lambda request: sent.append(request) if "/openid4vp/response/" in request.url else None)

    page.goto(link)
    verifier_line = page.get_by_test_id("request-verifier")
    verifier_line.wait_for()
    assert verifier_line.inner_text() == "Asked by: FinLab Financial Services (checked for localhost)"
    assert page.get_by_role("button", name="Share").is_disabled()
    open_wallet(page)
    assert consent_screen(page) == [("Payments on time", "0"), ("Payments late or missed", "0")]
    screenshot(page, f"consent-{response_mode}")
    page.get_by_role("button", name="Share").click()

    page.wait_for_url(f"{portal_at_live_server}/?shared=1")
    assert status_of(presentation) == (PresentationTransaction.Status.VERIFIED, "")
    [answer] = outcomes.verified
    shared = answer.presentations["history"]
    assert sorted(shared.disclosed) == sorted(ASKED)
    assert {name: shared.credential.claims[name] for name in ASKED} == {"onTimePaymentCount": 0, "arrearsCount": 0}
    [request] = sent
    form = parse_qs(request.post_data)
    if response_mode == "direct_post.jwt":
        assert set(form) == {"response"}
        header = json.loads(b64url_decode(form["response"][0].split(".")[0]))
        assert (header["alg"], header["enc"], header["kid"]) == (
            "ECDH-ES",
            "A128GCM",
            presentation.encryption_jwk["kid"],
        )
    else:
        assert set(form) == {"vp_token", "state"}
        [text] = json.loads(form["vp_token"][0])["history"]
        disclosures = text.split("~")[1:-1]
        assert sorted(json.loads(b64url_decode(item))[1] for item in disclosures) == sorted(ASKED)
        kb_header = json.loads(b64url_decode(text.split("~")[-1].split(".")[0]))
        assert kb_header == {"alg": "ES256", "typ": "kb+jwt"}


def test_a_changed_request_object_is_refused_and_nothing_is_sent(page, make_user, outcomes, portal_at_live_server):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    receive_payment_history(page)
    presentation = open_request(portal_at_live_server)
    sent = []
    page.on("request", lambda request: sent.append(request) if "/openid4vp/response/" in request.url else None)

    def ask_for_more(route):
        """A man in the middle adds a claim to the DCQL query and keeps the verifier's signature."""
        header, payload, signature = route.fetch().text().split(".")
        claims = json.loads(b64url_decode(payload))
        claims["dcql_query"]["credentials"][0]["claims"].append({"path": ["latePayments"]})
        changed = b64url_encode(json.dumps(claims).encode())
        route.fulfill(
            status=200, content_type="application/oauth-authz-req+jwt", body=f"{header}.{changed}.{signature}"
        )

    page.route("**/openid4vp/request/**", ask_for_more)
    page.goto(verifier.authorization_request_links(presentation).browser_wallet_link)
    refusal = page.get_by_test_id("request-refused")
    refusal.wait_for()
    assert refusal.inner_text() == (
        "The request was changed after it was signed, or its signature is not valid. Nothing was shared."
    )
    open_wallet(page)
    assert page.get_by_role("button", name="Share").is_disabled()
    assert page.locator("#wallet-request-details").is_hidden()
    assert sent == [] and outcomes.verified == []
    assert status_of(presentation) == (PresentationTransaction.Status.PENDING, "")


def test_a_client_id_the_certificate_does_not_name_is_refused(page, make_user, outcomes, portal_at_live_server):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    presentation = open_request(portal_at_live_server)
    link = verifier.authorization_request_links(presentation).browser_wallet_link
    query = parse_qs(urlsplit(link).query)
    posing = urlencode({"client_id": "x509_san_dns:bank.example", "request_uri": query["request_uri"][0]})

    page.goto(f"/identity/wallet/openid4vp/?{posing}")
    page.get_by_test_id("request-refused").wait_for()
    assert page.get_by_test_id("request-refused").inner_text() == (
        "The requester's certificate does not match the name it gives. This may be a fake: nothing was shared."
    )
    assert status_of(presentation) == (PresentationTransaction.Status.PENDING, "")


def test_refusing_tells_the_verifier(page, make_user, outcomes, portal_at_live_server):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    receive_payment_history(page)
    presentation = open_request(portal_at_live_server)

    page.goto(verifier.authorization_request_links(presentation).browser_wallet_link)
    open_wallet(page)
    consent_screen(page)
    page.get_by_role("button", name="Refuse").click()
    page.get_by_test_id("request-status").filter(has_text="You refused. Nothing was shared.").wait_for()
    assert status_of(presentation) == (PresentationTransaction.Status.REFUSED, "wallet_declined")
    assert outcomes.refused == ["wallet_declined"] and outcomes.verified == []


def test_a_backup_imported_on_a_phone_presents_there(new_page, make_user, outcomes, portal_at_live_server, tmp_path):
    customer = make_user(Role.CUSTOMER)
    laptop = new_page()
    log_in(laptop, customer.email)
    receive_payment_history(laptop)
    backup = export_backup(laptop, tmp_path)
    presentation = open_request(portal_at_live_server)
    link = verifier.authorization_request_links(presentation).browser_wallet_link

    phone = new_page(viewport={"width": 360, "height": 740})
    log_in(phone, customer.email)
    phone.goto(link)
    open_wallet(phone, "the phone's own passphrase")
    phone.locator("#wallet-request-error").filter(has_text="Your wallet holds no credential").wait_for()
    import_backup(phone, backup, "a different backup passphrase")
    assert consent_screen(phone) == [("Payments on time", "0"), ("Payments late or missed", "0")]
    assert len(stored_entries(phone)) == 1
    phone.get_by_role("button", name="Share").click()
    phone.wait_for_url(f"{portal_at_live_server}/?shared=1")
    assert status_of(presentation) == (PresentationTransaction.Status.VERIFIED, "")
    assert len(outcomes.verified) == 1
