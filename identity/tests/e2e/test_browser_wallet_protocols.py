"""In headless Chromium: the portal's own browser wallet speaks OpenID4VCI like a wallet app. It takes a credential
offer by the same query a wallet app gets, with the PIN, a nonce and a key proof of its P-256 key; it shows the
claims with the issuer's names for them; it saves an encrypted backup that another browser imports, and refuses a
wrong passphrase or a changed file without changing anything."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from accounts.roles import Role
from identity.credentials import jose, x509
from identity.credentials.encoding import b64url_decode, b64url_encode
from identity.models import CredentialOffer, CredentialRecord
from identity.openid4vci import certificates
from identity.tests.e2e.browser_wallet import (
    BACKUP_PASSPHRASE,
    PASSPHRASE,
    PAYMENT_HISTORY_LABELS,
    export_backup,
    fits_the_screen,
    import_backup,
    log_in,
    open_wallet,
    payment_history_offer,
    receive_payment_history,
    stored_entries,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.usefixtures("portal_at_live_server"),
]


def test_browser_wallet_accepts_an_offer_with_pin_nonce_and_key_proof(page, make_user, screenshot):
    customer = make_user(Role.CUSTOMER)
    log_in(page, customer.email)
    link, pin = payment_history_offer(page)
    page.goto(link)
    page.get_by_test_id("offer-summary").filter(has_text="FinLab: Payment history").wait_for()
    assert page.get_by_role("button", name="Add to my wallet").is_disabled()  # the wallet is still locked
    open_wallet(page)

    wrong_pin = "000000" if pin != "000000" else "111111"
    page.get_by_label("PIN shown with the offer").fill(wrong_pin)
    page.get_by_role("button", name="Add to my wallet").click()
    page.locator("#wallet-offer-error").filter(has_text="The PIN is wrong").wait_for()
    assert stored_entries(page) == []

    page.get_by_label("PIN shown with the offer").fill(pin)
    page.get_by_role("button", name="Add to my wallet").click()
    page.locator("#wallet-offer-status").wait_for()
    assert page.locator("#wallet-offer-status").inner_text() == "Stored in your wallet: Payment history"
    assert page.get_by_test_id("offer-claims").locator("dt").all_inner_texts() == PAYMENT_HISTORY_LABELS
    assert "credential_offer" not in page.url  # a reload cannot try the spent offer again
    screenshot(page, "offer-accepted")

    [entry] = stored_entries(page)
    assert (entry["format"], entry["type"], entry["display"]["name"]) == (
        "dc+sd-jwt",
        "PaymentHistoryCredential",
        "Payment history",
    )
    issuer_jwt, *disclosures = entry["credential"].split("~")
    header, payload, signing_input, signature = jose.decode_compact(issuer_jwt)
    leaf = x509.certificate_chain_verify(
        chain=x509.x5c_decode(header["x5c"]), trust_anchors=certificates.trust_anchors(), at=datetime.now(UTC)
    )
    jose.signature_verify(
        algorithm="ES256", public_key=leaf.public_key(), signing_input=signing_input, signature=signature
    )
    holder_jwk = page.evaluate("(id) => FinLabWallet.privateJwk(id)", entry["keyId"])
    assert payload["cnf"]["jwk"] == {name: holder_jwk[name] for name in ("kty", "crv", "x", "y")}
    assert holder_jwk["crv"] == "P-256" and entry["keyId"] == jose.jwk_thumbprint(payload["cnf"]["jwk"])
    assert len(disclosures) == 9 and disclosures[-1] == ""
    assert CredentialOffer.objects.get(user=customer).redeemed_at is not None
    assert CredentialRecord.objects.filter(credential_id=payload["jti"]).count() == 1

    # the table lists it by its name, with the claims under it; after a reload it is still there
    page.reload()
    open_wallet(page)
    row = page.locator("#wallet-credentials tr[data-credential-id]")
    assert row.locator("td").first.inner_text().startswith("Payment history")
    row.get_by_text("Claims").click()
    assert row.locator("dt").all_inner_texts() == PAYMENT_HISTORY_LABELS


def test_browser_wallet_shows_claims_in_german_and_fits_a_phone(new_page, make_user):
    customer = make_user(Role.CUSTOMER)
    page = new_page(viewport={"width": 360, "height": 740})
    log_in(page, customer.email)
    page.goto("/identity/wallet/")
    page.get_by_test_id("language-switch").get_by_role("button", name="Deutsch").click()
    page.wait_for_load_state()
    link, pin = payment_history_offer_de(page)
    page.goto(link)
    page.get_by_test_id("offer-summary").filter(has_text="Zahlungshistorie").wait_for()
    assert fits_the_screen(page)
    page.get_by_label("Wallet-Passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Wallet öffnen").click()
    page.get_by_label("PIN zum Angebot").fill(pin)
    page.get_by_role("button", name="In meine Wallet aufnehmen").click()
    page.locator("#wallet-offer-status").wait_for()
    assert page.locator("#wallet-offer-status").inner_text() == "In Ihrer Wallet gespeichert: Zahlungshistorie"
    assert page.get_by_test_id("offer-claims").locator("dt").first.inner_text() == "Pünktliche Zahlungen"
    assert fits_the_screen(page)


def payment_history_offer_de(page) -> tuple[str, str]:
    page.goto("/identity/wallet/credential-offer/")
    page.get_by_label("Zahlungshistorie").check()
    page.get_by_role("button", name="Angebot erstellen").click()
    return page.get_by_test_id("offer-browser-wallet-link").get_attribute("href"), page.get_by_test_id(
        "offer-pin"
    ).inner_text()


def test_encrypted_backup_moves_the_wallet_to_another_browser(new_page, make_user, tmp_path):
    customer = make_user(Role.CUSTOMER)
    laptop = new_page()
    log_in(laptop, customer.email)
    receive_payment_history(laptop)
    [original] = stored_entries(laptop)
    original_key = laptop.evaluate("(id) => FinLabWallet.privateJwk(id)", original["keyId"])
    backup = export_backup(laptop, tmp_path)
    assert backup.name.startswith("finlab-wallet-backup-") and backup.suffix == ".json"
    file = json.loads(backup.read_text())
    assert (file["format"], file["kdf"]["name"], file["kdf"]["iterations"], file["cipher"]["name"]) == (
        "finlab-wallet-backup",
        "PBKDF2",
        600_000,
        "AES-GCM",
    )
    sealed = b64url_decode(file["ciphertext"])
    assert original_key["d"].encode() not in backup.read_bytes() and b"PaymentHistory" not in sealed

    phone = new_page(viewport={"width": 360, "height": 740})
    log_in(phone, customer.email)
    phone.goto("/identity/wallet/")
    open_wallet(phone, "the phone's own passphrase")
    assert stored_entries(phone) == []

    import_backup(phone, backup, "not the backup passphrase")
    phone.get_by_test_id("backup-error").wait_for()
    assert phone.get_by_test_id("backup-error").inner_text() == (
        "This backup cannot be opened: the passphrase is wrong or the file was changed. Nothing was changed."
    )
    assert stored_entries(phone) == []

    tampered = tmp_path / "tampered.json"
    flipped = bytearray(sealed)
    flipped[40] ^= 0x01
    tampered.write_text(json.dumps(file | {"ciphertext": b64url_encode(bytes(flipped))}))
    import_backup(phone, tampered, BACKUP_PASSPHRASE)
    phone.get_by_test_id("backup-error").filter(has_text="the file was changed").wait_for()
    assert stored_entries(phone) == []

    weakened = tmp_path / "weakened.json"
    weakened.write_text(json.dumps(file | {"kdf": file["kdf"] | {"iterations": 1000}}))
    import_backup(phone, weakened, BACKUP_PASSPHRASE)
    phone.get_by_test_id("backup-error").filter(has_text="the file was changed").wait_for()
    assert stored_entries(phone) == []

    not_a_backup = tmp_path / "notes.json"
    not_a_backup.write_text('{"hello": "world"}')
    import_backup(phone, not_a_backup, BACKUP_PASSPHRASE)
    phone.get_by_test_id("backup-error").filter(has_text="is not a FinLab wallet backup").wait_for()
    assert stored_entries(phone) == []

    import_backup(phone, backup, BACKUP_PASSPHRASE)
    phone.get_by_test_id("backup-status").filter(has_text="Backup imported.").wait_for()
    [moved] = stored_entries(phone)
    assert moved == original
    assert phone.evaluate("(id) => FinLabWallet.privateJwk(id)", moved["keyId"]) == original_key
    assert phone.locator("#wallet-credentials tr[data-credential-id]").count() == 1
    phone.locator("#wallet-credentials").get_by_text("Claims").click()
    assert fits_the_screen(phone)

    # the import is kept under the phone's own passphrase
    phone.reload()
    open_wallet(phone, "the phone's own passphrase")
    assert stored_entries(phone) == [original]
