"""Steps of a customer using the portal's browser wallet in Chromium, shared by the browser-wallet tests."""

from __future__ import annotations

from pathlib import Path

from accounts.tests.factories import TEST_PASSWORD

PASSPHRASE = "correct horse battery wallet"
BACKUP_PASSPHRASE = "a different backup passphrase"
PAYMENT_HISTORY_LABELS = [
    "Payments on time",
    "Payments late or missed",
    "From",
    "To",
    "Payments made late",
    "Payments missed",
    "Direct debits returned",
    "Arrears today",
]


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def open_wallet(page, passphrase: str = PASSPHRASE) -> None:
    page.get_by_label("Wallet passphrase").fill(passphrase)
    page.get_by_role("button", name="Open wallet").click()
    page.locator("#wallet-open").wait_for()


def payment_history_offer(page) -> tuple[str, str]:
    """The customer asks "Get credentials" for a payment-history offer: (browser-wallet link, PIN)."""
    page.goto("/identity/wallet/credential-offer/")
    page.get_by_label("Payment history").check()
    page.get_by_role("button", name="Make an offer").click()
    link = page.get_by_test_id("offer-browser-wallet-link").get_attribute("href")
    return link, page.get_by_test_id("offer-pin").inner_text()


def receive_payment_history(page) -> None:
    link, pin = payment_history_offer(page)
    assert link.startswith("/identity/wallet/?credential_offer=")
    page.goto(link)
    page.get_by_test_id("offer-summary").filter(has_text="Payment history").wait_for()
    open_wallet(page)
    page.get_by_label("PIN shown with the offer").fill(pin)
    page.get_by_role("button", name="Add to my wallet").click()
    page.locator("#wallet-offer-status").wait_for()


def fits_the_screen(page) -> bool:
    """Nothing in the page's content reaches past the right edge of the screen (the site header is not the wallet's:
    at 360 px its session links are wider than the screen on every page)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('main *'))"
        ".every((element) => element.getBoundingClientRect().right <= window.innerWidth + 0.5)"
    )


def stored_entries(page) -> list[dict]:
    return page.evaluate("() => FinLabWallet.entries()")


def export_backup(page, folder: Path) -> Path:
    page.get_by_label("Backup passphrase").fill(BACKUP_PASSPHRASE)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save encrypted backup").click()
    path = folder / download_info.value.suggested_filename
    download_info.value.save_as(path)
    return path


def import_backup(page, path: Path, passphrase: str) -> None:
    page.get_by_label("Backup file to import").set_input_files(str(path))
    page.get_by_label("Passphrase of the backup").fill(passphrase)
    page.get_by_role("button", name="Import backup").click()


def receive_offer(page, credential_label: str) -> None:
    """The customer asks "Get credentials" for an offer, opens it in the browser wallet and enters the PIN."""
    page.goto("/identity/wallet/credential-offer/")
    page.get_by_label(credential_label).check()
    page.get_by_role("button", name="Make an offer").click()
    link = page.get_by_test_id("offer-browser-wallet-link").get_attribute("href")
    pin = page.get_by_test_id("offer-pin").inner_text()
    page.goto(link)
    page.get_by_test_id("offer-summary").wait_for()
    open_wallet(page)
    page.get_by_label("PIN shown with the offer").fill(pin)
    page.get_by_role("button", name="Add to my wallet").click()
    page.locator("#wallet-offer-status").wait_for()


def consent_screen(page) -> list[tuple[str, str]]:
    """(label, value) of every claim the wallet's consent screen says it will share."""
    claims = page.get_by_test_id("request-claims")
    claims.locator("dt").first.wait_for()
    return list(zip(claims.locator("dt").all_inner_texts(), claims.locator("dd").all_inner_texts(), strict=True))
