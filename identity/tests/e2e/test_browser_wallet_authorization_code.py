"""In headless Chromium: the portal's own browser wallet gets a credential by the authorization code flow with PKCE,
like a wallet app. From an offer that carries only the authorization_code grant (with an issuer_state) and from
"Add a credential" in the wallet, it sends the signed-in customer to the portal's consent page with an S256
challenge and a state it keeps in sessionStorage, comes back with the code, checks the state and the issuer, spends
code and verifier at the token endpoint and receives the credential with a nonce and a key proof. An answer whose
state is not the one it sent is refused without spending the code."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from accounts.roles import Role
from identity.credentials import jose, x509
from identity.models import AuthorizationCode, CredentialRecord, IssuanceAccessToken
from identity.openid4vci import certificates
from identity.openid4vci.grants import BROWSER_WALLET_CLIENT_ID
from identity.tests.e2e.browser_wallet import (
    PASSPHRASE,
    PAYMENT_HISTORY_LABELS,
    fits_the_screen,
    log_in,
    open_wallet,
    stored_entries,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.usefixtures("portal_at_live_server"),
]

FLOW_KEY = "finlab-wallet:authorization-flow"
CONFIRMED = "Confirmed at FinLab. Open your wallet below to store the credential."


def _authorization_request(page, start) -> dict[str, str]:
    """Run ``start`` (a click that leaves for the authorization endpoint); the query the wallet sent there."""
    with page.expect_request(lambda request: "/openid4vci/authorize" in request.url) as sent:
        start()
    page.get_by_role("heading", name="Allow a wallet app to collect credentials").wait_for()
    return {name: values[0] for name, values in parse_qs(urlsplit(sent.value.url).query).items()}


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _assert_pkce_request(page, query: dict[str, str], live_server_url: str) -> None:
    flow = json.loads(page.evaluate("(key) => sessionStorage.getItem(key)", FLOW_KEY))
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["client_id"] == BROWSER_WALLET_CLIENT_ID
    assert query["redirect_uri"] == live_server_url + "/identity/wallet/"
    assert query["scope"] == "PaymentHistoryCredential"
    assert query["state"] == flow["state"] and len(flow["state"]) == 43
    assert len(flow["verifier"]) == 43 and query["code_challenge"] == _challenge(flow["verifier"])


def _allow(page) -> None:
    """The customer allows on the portal's consent page and is sent back to the wallet page."""
    assert "FinLab browser wallet" in page.locator("main").inner_text()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/identity/wallet/")


def _assert_payment_history_held(page, customer) -> None:
    """The stored credential is the portal's payment history, signed by the issuer's certified key, bound to the
    wallet's P-256 key; the authorization code was spent once."""
    page.locator("#wallet-offer-status").filter(has_text="Stored in your wallet").wait_for()
    assert page.locator("#wallet-offer-status").inner_text() == "Stored in your wallet: Payment history"
    assert page.get_by_test_id("offer-claims").locator("dt").all_inner_texts() == PAYMENT_HISTORY_LABELS
    [entry] = stored_entries(page)
    assert (entry["format"], entry["type"]) == ("dc+sd-jwt", "PaymentHistoryCredential")
    issuer_jwt, *_disclosures = entry["credential"].split("~")
    header, payload, signing_input, signature = jose.decode_compact(issuer_jwt)
    leaf = x509.certificate_chain_verify(
        chain=x509.x5c_decode(header["x5c"]), trust_anchors=certificates.trust_anchors(), at=datetime.now(UTC)
    )
    jose.signature_verify(
        algorithm="ES256", public_key=leaf.public_key(), signing_input=signing_input, signature=signature
    )
    holder_jwk = page.evaluate("(id) => FinLabWallet.privateJwk(id)", entry["keyId"])
    assert payload["cnf"]["jwk"] == {name: holder_jwk[name] for name in ("kty", "crv", "x", "y")}
    assert entry["keyId"] == jose.jwk_thumbprint(payload["cnf"]["jwk"])
    assert CredentialRecord.objects.filter(credential_id=payload["jti"]).count() == 1
    code = AuthorizationCode.objects.get(user=customer)
    assert code.used_at is not None and code.client_id == BROWSER_WALLET_CLIENT_ID
    assert IssuanceAccessToken.objects.get(authorization_code=code).user == customer
    assert "code=" not in page.url and "state=" not in page.url  # a reload cannot try the spent code again
    assert page.evaluate("(key) => sessionStorage.getItem(key)", FLOW_KEY) is None


def test_an_offer_with_issuer_state_is_taken_by_the_authorization_code_flow_on_a_phone(
    new_page, make_user, live_server, screenshot
):
    customer = make_user(Role.CUSTOMER)
    page = new_page(viewport={"width": 360, "height": 740})
    log_in(page, customer.email)
    offer = {
        "credential_issuer": live_server.url,
        "credential_configuration_ids": ["PaymentHistoryCredential"],
        "grants": {"authorization_code": {"issuer_state": "offer-context-7f3a"}},
    }
    page.goto("/identity/wallet/?" + urlencode({"credential_offer": json.dumps(offer)}))
    page.get_by_test_id("offer-summary").filter(has_text="FinLab: Payment history").wait_for()
    assert page.locator("#wallet-offer-authorization").is_visible()
    assert page.locator("#wallet-offer-pin-field").is_hidden()
    assert fits_the_screen(page)
    screenshot(page, "offer-by-authorization-code")

    query = _authorization_request(page, page.get_by_role("button", name="Add to my wallet").click)
    assert query["issuer_state"] == "offer-context-7f3a"
    _assert_pkce_request(page, query, live_server.url)
    assert fits_the_screen(page)
    screenshot(page, "consent")
    _allow(page)

    # the code is spent at once (it lives a minute), the credential comes when the wallet is open
    page.locator("#wallet-offer-status").filter(has_text=CONFIRMED).wait_for()
    assert page.get_by_role("button", name="Add to my wallet").is_hidden()
    assert AuthorizationCode.objects.get(user=customer).used_at is not None
    assert "code=" not in page.url
    assert fits_the_screen(page)
    open_wallet(page)
    _assert_payment_history_held(page, customer)
    assert fits_the_screen(page)
    screenshot(page, "stored")


def test_add_a_credential_from_the_wallet_by_the_authorization_code_flow(page, make_user, live_server):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    page.goto("/identity/wallet/")
    assert page.locator("#wallet-add").is_hidden()  # until the wallet is open
    open_wallet(page)
    page.get_by_label("Credential to add").select_option(label="Payment history")

    query = _authorization_request(page, page.get_by_role("button", name="Add a credential").click)
    assert "issuer_state" not in query
    _assert_pkce_request(page, query, live_server.url)
    _allow(page)

    page.locator("#wallet-offer-status").filter(has_text=CONFIRMED).wait_for()
    open_wallet(page)
    _assert_payment_history_held(page, customer)


def test_an_answer_with_another_state_is_refused_and_the_code_is_not_spent(page, make_user, live_server):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    page.goto("/identity/wallet/")
    open_wallet(page)
    page.get_by_label("Credential to add").select_option(label="Payment history")
    query = _authorization_request(page, page.get_by_role("button", name="Add a credential").click)

    # the portal's answer is held back: its Location is what an attacker could replay with another state
    answers = []

    def hold(route):
        answer = route.fetch(max_redirects=0)
        answers.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/plain", body="held")

    def to_the_authorization_endpoint(url: str) -> bool:
        return "/openid4vci/authorize" in url

    page.route(to_the_authorization_endpoint, hold)
    page.get_by_role("button", name="Allow").click()
    page.get_by_text("held").wait_for()
    page.unroute(to_the_authorization_endpoint)
    [location] = answers
    answer = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert answer["state"] == query["state"] and answer["iss"] == live_server.url

    forged = {**answer, "state": "a-state-this-wallet-never-sent"}
    page.goto("/identity/wallet/?" + urlencode(forged))
    page.get_by_test_id("offer-error").wait_for()
    assert page.get_by_test_id("offer-error").inner_text() == (
        "This answer from the issuer does not belong to a request started in this wallet: it may be old or forged. "
        "Nothing was added. Start again from the offer or with “Add a credential”."
    )
    assert "code=" not in page.url
    assert AuthorizationCode.objects.get(user=customer).used_at is None  # never sent to the token endpoint
    assert IssuanceAccessToken.objects.count() == 0

    # an answer naming another issuer is refused the same way (RFC 9207 mix-up defence)
    page.goto("/identity/wallet/?" + urlencode({**answer, "iss": "https://issuer.example"}))
    page.get_by_test_id("offer-error").filter(has_text="does not belong to a request").wait_for()
    assert AuthorizationCode.objects.get(user=customer).used_at is None

    # the flow under way was not lost: its own answer still completes it
    page.goto("/identity/wallet/?" + urlencode(answer))
    page.locator("#wallet-offer-status").filter(has_text=CONFIRMED).wait_for()
    open_wallet(page)
    _assert_payment_history_held(page, customer)

    # and the same answer a second time is refused: the flow was used up
    page.goto("/identity/wallet/?" + urlencode(answer))
    page.get_by_test_id("offer-error").filter(has_text="does not belong to a request").wait_for()
    assert IssuanceAccessToken.objects.count() == 1


def test_a_refusal_on_the_consent_page_comes_back_as_a_sentence(page, make_user):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    page.goto("/identity/wallet/")
    open_wallet(page)
    page.get_by_label("Credential to add").select_option(label="Payment history")
    _authorization_request(page, page.get_by_role("button", name="Add a credential").click)
    page.get_by_role("button", name="Refuse").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/identity/wallet/")
    page.get_by_test_id("offer-error").filter(
        has_text="You refused on the issuer's page. Nothing was added."
    ).wait_for()
    assert AuthorizationCode.objects.filter(user=customer).count() == 0
    open_wallet(page)
    assert stored_entries(page) == []


def test_add_a_credential_in_german_fits_a_phone(new_page, make_user):
    customer = make_user(Role.CUSTOMER)
    page = new_page(viewport={"width": 360, "height": 740})
    log_in(page, customer.email)
    page.goto("/identity/wallet/")
    page.get_by_test_id("language-switch").get_by_role("button", name="Deutsch").click()
    page.wait_for_load_state()
    page.get_by_label("Wallet-Passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Wallet öffnen").click()
    page.get_by_label("Hinzuzufügender Nachweis").select_option(label="Zahlungshistorie")
    assert fits_the_screen(page)
    with page.expect_request(lambda request: "/openid4vci/authorize" in request.url):
        page.get_by_role("button", name="Nachweis hinzufügen").click()
    page.get_by_role("heading", name="Einer Wallet-App erlauben, Nachweise abzuholen").wait_for()
    assert "FinLab-Browser-Wallet" in page.locator("main").inner_text()
    assert fits_the_screen(page)
    page.get_by_role("button", name="Erlauben").click()
    page.locator("#wallet-offer-status").filter(has_text="Bei FinLab bestätigt.").wait_for()
    assert fits_the_screen(page)
    page.get_by_label("Wallet-Passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Wallet öffnen").click()
    page.locator("#wallet-offer-status").filter(has_text="In Ihrer Wallet gespeichert").wait_for()
    assert page.locator("#wallet-offer-status").inner_text() == "In Ihrer Wallet gespeichert: Zahlungshistorie"
    assert page.get_by_test_id("offer-claims").locator("dt").first.inner_text() == "Pünktliche Zahlungen"
    assert fits_the_screen(page)
