"""In headless Chromium: the customer's wallet gets demo credentials, keeps them encrypted in IndexedDB, downloads
them, and presents an SD-JWT with only the chosen claims."""

from __future__ import annotations

import json

import pytest

from accounts.roles import Role
from accounts.tests.factories import TEST_PASSWORD
from identity.models import CredentialRecord
from identity.services.verification import presentation_verify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSPHRASE = "correct horse battery wallet"
READ_VAULT = """async () => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open("finlab-wallet", 1); r.onsuccess = () => ok(r.result); r.onerror = fail; });
  const record = await new Promise((ok) => { const r = db.transaction("vaults").objectStore("vaults").getAll(); r.onsuccess = () => ok(r.result); });
  return record.map((item) => Array.from(item.ciphertext));
}"""


def _log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_wallet_keeps_credentials_encrypted_and_presents_selectively(page, make_user, screenshot, tmp_path):
    customer = make_user(Role.CUSTOMER)
    _log_in(page, customer.email)
    page.goto("/identity/wallet/")
    page.get_by_label("Wallet passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()
    holder_did = page.get_by_test_id("wallet-did").inner_text()
    assert holder_did.startswith("did:key:z6Mk")

    page.get_by_role("button", name="Get my credit-history credential (demo credit bureau)").click()
    page.locator("#wallet-status").wait_for()
    page.get_by_role("button", name="Get my identity credential (demo KYC provider)").click()
    page.locator("#wallet-credentials tr[data-credential-id]").nth(1).wait_for()
    screenshot(page, "wallet")
    rows = page.locator("#wallet-credentials tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in rows] == [
        ["Credit history", "sd-jwt"],
        ["Proof of identity", "sd-jwt"],
    ]
    assert CredentialRecord.objects.count() == 2

    stored = bytes(page.evaluate(READ_VAULT)[0])
    assert b"scoreBand" not in stored and holder_did.encode() not in stored

    with page.expect_download() as download_info:
        page.locator("#wallet-credentials tr").first.get_by_role("button", name="Download").click()
    downloaded = tmp_path / "credential.sd-jwt"
    download_info.value.save_as(downloaded)
    assert download_info.value.suggested_filename.startswith("CreditHistoryCredential-")
    assert downloaded.read_text().count("~") == 6

    page.reload()
    page.get_by_label("Wallet passphrase").fill("a wrong passphrase")
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-lock-error").wait_for()
    assert page.locator("#wallet-lock-error").inner_text() == "This passphrase does not open the wallet."
    page.get_by_label("Wallet passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()
    assert page.get_by_test_id("wallet-did").inner_text() == holder_did

    credit = page.evaluate("() => FinLabWallet.list().find((c) => c.type === 'CreditHistoryCredential')")
    assert credit["disclosable"] == [
        "scoreBand",
        "affordabilityCeilingPerMonth",
        "negativeRecordBand",
        "asOf",
        "issuerPolicy",
    ]
    presentation = page.evaluate(
        "(id) => FinLabWallet.present({credentialId: id, disclose: ['scoreBand', 'affordabilityCeilingPerMonth'],"
        " challenge: 'nonce-77', domain: 'did:web:localhost:dealers:autohaus-nord'})",
        credit["id"],
    )

    result = presentation_verify(
        presentation=presentation,
        challenge="nonce-77",
        domain="did:web:localhost:dealers:autohaus-nord",
        allow_pending_anchor=True,
    )
    assert (result.is_valid, result.reason) == (True, None)
    claims = result.claims[0]
    assert (claims["scoreBand"], claims["affordabilityCeilingPerMonth"]) == (
        "B",
        {"amountMinor": 65000, "currency": "EUR"},
    )
    assert {"negativeRecordBand", "asOf", "issuerPolicy"} & set(claims) == set()
    assert result.credentials[0].subject == holder_did
    assert "negativeRecordBand" not in json.dumps(claims)
