"""One-click unsubscribe (RFC 8058) for optional notification kinds: the headers on the mail, the signed link that
turns the kind off without a login or a CSRF token, the confirmation page for a person who clicks it, and a tampered
or foreign link that changes nothing."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.test import Client

from accounts import notifications
from accounts.models import NotificationPreference, SentNotification
from accounts.tests.test_notifications import MANDATORY, OPTIONAL, _reminder_context

pytestmark = pytest.mark.django_db

CHARGING_INVOICE = "machines.charging_invoice_issued"


def _deliver(user, kind: str = OPTIONAL, event_key: str = "code:7:expires:2027-01-15"):
    mail.outbox.clear()
    context = _reminder_context() if kind == OPTIONAL else {}
    if kind == CHARGING_INVOICE:
        return notifications.notification_headers(
            user=user, kind=notifications.notification_kind_get(code=kind), event_key=event_key
        )
    assert notifications.notification_deliver(kind=kind, user_id=user.pk, event_key=event_key, context=context)
    (message,) = mail.outbox
    return message.extra_headers


def _path(headers: dict[str, str]) -> str:
    match = re.fullmatch(r"<http://testserver(/accounts/unsubscribe/[^/>]+/)>", headers["List-Unsubscribe"])
    assert match, headers["List-Unsubscribe"]
    return match.group(1)


def _one_click(path: str):
    """What a mail program sends (RFC 8058 section 3.2): no cookies, no CSRF token, this body."""
    browser = Client(enforce_csrf_checks=True)
    return browser.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("kind", [OPTIONAL, CHARGING_INVOICE])
def test_optional_kinds_carry_the_one_click_headers(customer, kind):
    headers = _deliver(customer, kind)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = _path(headers).split("/")[-2]
    payload = signing.loads(token, salt="accounts.notification-unsubscribe")
    assert payload == {"user": customer.pk, "kind": kind}


def test_mandatory_kinds_never_carry_them(customer):
    headers = _deliver(customer, MANDATORY, event_key="order:x")

    assert "List-Unsubscribe" not in headers and "List-Unsubscribe-Post" not in headers
    with pytest.raises(ValueError):
        notifications.notification_unsubscribe_token(
            user=customer, kind=notifications.notification_kind_get(code=MANDATORY)
        )


def test_the_one_click_post_turns_the_kind_off_without_login_or_csrf_and_the_next_reminder_stays_home(customer):
    path = _path(_deliver(customer))

    response = _one_click(path)

    assert response.status_code == 200
    assert notifications.notification_preferences_get(user=customer) == {OPTIONAL: False, CHARGING_INVOICE: True}
    mail.outbox.clear()
    assert not notifications.notification_deliver(
        kind=OPTIONAL, user_id=customer.pk, event_key="code:8:expires:2027-02-01", context=_reminder_context()
    )
    assert mail.outbox == []
    assert SentNotification.objects.get(event_key="code:8:expires:2027-02-01").status == "suppressed"
    assert _one_click(path).status_code == 200  # a second click is harmless
    assert NotificationPreference.objects.filter(user=customer).count() == 1


def test_a_get_shows_a_confirmation_with_a_button_and_changes_nothing(customer):
    path = _path(_deliver(customer))

    page = Client().get(path)

    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "Stop these e-mails?" in html and "A QR code is about to expire" in html
    assert f'<form method="post" action="{path}">' in html and "<script>" not in html
    assert 'data-testid="unsubscribe-confirm">Unsubscribe</button>' in html
    assert not NotificationPreference.objects.exists()


def test_the_confirmation_and_the_answer_speak_german(customer):
    path = _path(_deliver(customer))

    confirm = Client().get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    done = Client().post(path, {"List-Unsubscribe": "One-Click"}, HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert "Diese E-Mails abbestellen?" in confirm and "Ein QR-Code läuft bald ab" in confirm
    assert ">Abbestellen</button>" in confirm
    assert "Sie sind abgemeldet" in done
    assert notifications.notification_preferences_get(user=customer)[OPTIONAL] is False


def _tampered(token: str) -> list[str]:
    """Forgeries an attacker could try from a link they hold: another user or kind in the payload with the old
    signature, a flipped signature character, a token signed for another purpose (the e-mail confirmation)."""
    payload, _, signature = token.partition(":")
    other = signing.dumps({"user": 999_999, "kind": OPTIONAL}, salt="accounts.notification-unsubscribe").split(":")[0]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    wrong_salt = signing.dumps({"user": 1, "kind": OPTIONAL}, salt="accounts.email-confirmation")
    unsigned_kind = signing.dumps({"user": 1, "kind": MANDATORY}, salt="something-else")
    return [f"{other}:{signature}", f"{payload}:{flipped}", wrong_salt, unsigned_kind, "not-a-token"]


def test_a_tampered_or_foreign_token_is_refused_on_get_and_post_and_changes_nothing(customer, make_user):
    other = make_user()
    token = _path(_deliver(other)).split("/")[-2]

    for forged in _tampered(token):
        for method in ("get", "post"):
            response = getattr(Client(), method)(f"/accounts/unsubscribe/{forged}/")
            assert response.status_code == 400, (forged, method)
            assert "This unsubscribe link is not valid. Nothing was changed." in response.content.decode()

    assert not NotificationPreference.objects.exists()


def test_a_signed_token_naming_a_mandatory_kind_or_a_closed_account_changes_nothing(customer):
    mandatory = signing.dumps({"user": customer.pk, "kind": MANDATORY}, salt="accounts.notification-unsubscribe")
    path = _path(_deliver(customer))
    customer.is_active = False
    customer.save(update_fields=["is_active"])

    assert _one_click(f"/accounts/unsubscribe/{mandatory}/").status_code == 400
    assert _one_click(path).status_code == 400
    assert not NotificationPreference.objects.exists()


def test_replaying_an_old_link_after_turning_the_kind_back_on_turns_it_off_again(customer):
    """The link keeps working (mails stay in inboxes for months); it can only ever turn its one kind off."""
    path = _path(_deliver(customer))
    _one_click(path)
    notifications.notification_preferences_update(user=customer, enabled={OPTIONAL: True})

    assert _one_click(path).status_code == 200

    assert notifications.notification_preferences_get(user=customer) == {OPTIONAL: False, CHARGING_INVOICE: True}
