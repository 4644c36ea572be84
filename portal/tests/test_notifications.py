"""Notification e-mails end to end, against a real SMTP server the test starts on loopback (aiosmtpd) with Django's
SMTP backend pointed at it: every event of payments, credit checks, leasing and machines reaches its recipient once,
in the recipient's language and time zone, as HTML and plain text, with no internal codes; optional kinds a user
turned off are not sent, mandatory ones are."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from email import message_from_bytes
from email.message import Message

import pytest
from django.core import mail
from django.utils import timezone

from accounts import notifications
from accounts.models import SentNotification
from accounts.roles import Role
from accounts.services import user_preferences_update
from core.models import OutboxMessage
from credit_checks.services import credit_check_request_create
from leasing import target2
from leasing.models import Collection, DirectDebitPreNotification
from leasing.services import applications, collections, contracts, pre_notifications, sepa_returns
from leasing.tests import factories as leasing_factories
from leasing.tests import sepa_support
from machines import metering
from machines.services import charging
from machines.tests.factories import station_make, vehicle_make
from payments.notifications import code_expiry_reminders_queue
from payments.tests.qr.factories import paid_code_create
from portal.testing import smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Internal words that must never reach a reader: snake_case codes, kind and topic names, typed context values,
# template syntax left over, Python's None.
INTERNAL = re.compile(
    r"\b[a-z]+(?:_[a-z0-9]+)+\b|\$[a-z]+|\b(?:payments|leasing|machines|credit_checks|accounts)\.\w|\{\{|\{%|\bNone\b"
)
URL = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture
def loan_product(db):
    return leasing_factories.loan_product()


@pytest.fixture
def smtp(settings):
    with smtp_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        yield server


def _people(make_user):
    german = make_user(Role.CUSTOMER)
    user_preferences_update(user=german, language="de", time_zone="Europe/Berlin")
    english = make_user(Role.CUSTOMER)
    user_preferences_update(user=english, language="en", time_zone="Europe/London")
    return german, english


def _parts(raw: bytes) -> tuple[Message, str, str]:
    message = message_from_bytes(raw)
    assert message.get_content_type() == "multipart/alternative"
    texts = {
        part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset())
        for part in message.walk()
        if not part.is_multipart()
    }
    assert sorted(texts) == ["text/html", "text/plain"]
    return message, texts["text/plain"], texts["text/html"]


def _subject(message: Message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def _mails(smtp) -> dict[str, list[tuple[str, str, str]]]:
    """Subject, text and HTML of every message the server received, by recipient."""
    by_recipient: dict[str, list[tuple[str, str, str]]] = {}
    for recipients, raw in smtp.received():
        message, text, html = _parts(raw)
        by_recipient.setdefault(recipients[0], []).append((_subject(message), text, html))
    return by_recipient


def _no_internal_codes(*texts: str) -> None:
    for text in texts:
        readable = URL.sub("", text)
        assert not INTERNAL.findall(readable), INTERNAL.findall(readable)


def _leasing_events(*, customer, dealer, back_office, product) -> None:
    """Application → a dealer's credit check for it → the customer's identity check → approval (decision and contract) → SEPA acceptance →
    pre-notifications → collection → the bank rejects the fee."""
    application = applications.application_create(
        customer=customer,
        quote_input=leasing_factories.quote_input(product),
        dealer_organisation=dealer.dealer_organisation,
    )
    credit_check_request_create(
        dealer_user=dealer,
        purpose="financing",
        amount=399_00,
        currency="EUR",
        term_months=36,
        lease_application_id=application.pk,
    )
    applications.application_credit_verdict_record(
        application_id=application.pk, verdict="approved", source="credential", external_reference="check-1"
    )
    leasing_factories.identity_check_pass(application)
    applications.application_approve(application_id=application.pk, approved_by=back_office, reason="Fits policy")
    application.refresh_from_db()
    if application.status != "approved":  # four eyes: a second back-office user
        from accounts.tests.factories import UserFactory

        applications.application_approve(
            application_id=application.pk, approved_by=UserFactory(role=Role.BACK_OFFICE), reason="Second pair"
        )
        application.refresh_from_db()
    contract = application.contract
    contracts.contract_accept(
        contract_id=contract.pk,
        customer=customer,
        document_sha256=contract.document_sha256,
        collection_method="sepa_direct_debit",
        iban=sepa_support.IBAN,
        bic="",
    )
    pre_notifications.pre_notifications_run(on=timezone.localdate())
    pre_notifications.pre_notifications_run(on=timezone.localdate())  # beat runs again: nothing new
    collection_date = DirectDebitPreNotification.objects.filter(contract=contract).first().collection_date
    collections.collections_run(on=target2.submission_deadline(collection_date))
    fee = Collection.objects.filter(contract=contract).order_by("amount").first()
    content = sepa_support.pain002(
        message_id=f"REJ-{contract.pk}", batch_message_id=fee.batch.message_id, rejects=[(fee, "AC04")]
    )
    sepa_returns.returned_debits_import(content=content, file_name="pain002.xml", imported_by=back_office)


def _charging_event(*, owner, operator) -> None:
    start = timezone.now() - dt.timedelta(hours=2)
    vehicle = vehicle_make(owner=owner, balance=5_000)
    station = station_make(owner=operator, price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id, connector_id=1, id_token=vehicle.id_token, started_at=start,
        start_key=f"notify-{owner.pk}", ocpp_version="1.6", readings=[metering.Reading(start, 0)],
    )  # fmt: skip
    charging.charging_session_end(
        station_id=station.station_id, transaction_id=outcome.transaction_id,
        ended_at=start + dt.timedelta(minutes=30), readings=[metering.Reading(start + dt.timedelta(minutes=30), 9_000)],
    )  # fmt: skip


# One announcement per pre-notification (the fee, and the fee again once the bank returned it and it is due anew).
ANNOUNCEMENT = {
    "en": r"Direct debit announcement for contract LC-\w+",
    "de": r"Vorabankündigung der Lastschrift für Vertrag LC-\w+",
}
EXPECTED_SUBJECTS = {
    "en": [
        r"Payment received: your QR code \w{8} is ready",
        r"Your QR code \w{8} expires soon",
        r".+ asks for a credit check",
        r"Your lease application is approved",
        r"Your contract LC-\w+ waits for your acceptance",
        r"A direct debit for contract LC-\w+ was not paid",
        r"Charging invoice for Car \d+: €3\.60",
    ],
    "de": [
        r"Zahlung erhalten: Ihr QR-Code \w{8} ist bereit",
        r"Ihr QR-Code \w{8} läuft bald ab",
        r".+ bittet um eine Bonitätsprüfung",
        r"Ihr Leasingantrag ist genehmigt",
        r"Ihr Vertrag LC-\w+ wartet auf Ihre Annahme",
        r"Eine Lastschrift für Vertrag LC-\w+ wurde nicht bezahlt",
        r"Laderechnung für Car \d+: 3,60\xa0€",
    ],
}


def test_every_event_reaches_its_recipient_once_in_their_language_as_html_and_text(
    smtp, make_user, dealer, back_office, loan_product
):
    german, english = _people(make_user)
    operator = make_user(Role.DEALER, dealer_organisation=dealer.dealer_organisation)
    codes = {}
    for person in (german, english):
        codes[person.email] = paid_code_create(owner=person, amount=50_00)
        _leasing_events(customer=person, dealer=dealer, back_office=back_office, product=loan_product)
        _charging_event(owner=person, operator=operator)
    soon = min(code.expires_at for code in codes.values()) - dt.timedelta(days=10)
    assert code_expiry_reminders_queue(now=soon) == 2
    assert code_expiry_reminders_queue(now=soon + dt.timedelta(days=1)) == 2  # the next day's run: no second mail

    # Every notification delivered a second time (a sweep after a lost acknowledgement): nothing more is sent.
    for message in OutboxMessage.objects.filter(topic=notifications.NOTIFICATION_TOPIC):
        assert notifications.notification_deliver(**message.payload) is False

    received = _mails(smtp)
    assert set(received) == {german.email, english.email}
    assert mail.outbox == []  # everything went through SMTP
    for person, language in ((german, "de"), (english, "en")):
        subjects = sorted(subject for subject, _text, _html in received[person.email])
        notices = DirectDebitPreNotification.objects.filter(contract__customer=person, sent_at__isnull=False)
        assert notices.count() >= 1
        patterns = sorted(EXPECTED_SUBJECTS[language] + [ANNOUNCEMENT[language]] * notices.count())
        assert len(subjects) == len(patterns), subjects
        unmatched = list(subjects)
        for pattern in patterns:
            match = next((subject for subject in unmatched if re.fullmatch(pattern, subject)), None)
            assert match is not None, (pattern, subjects)
            unmatched.remove(match)
        for subject, text, html in received[person.email]:
            _no_internal_codes(subject, text, html)
            assert subject in html and f'lang="{language}"' in html
    assert Counter(SentNotification.objects.values_list("status", flat=True)) == {
        "sent": sum(len(mails) for mails in received.values())
    }

    german_mails = {subject: (text, html) for subject, text, html in received[german.email]}
    receipt_text, receipt_html = next(value for key, value in german_mails.items() if key.startswith("Zahlung"))
    assert "50,00\xa0€" in receipt_text and "50,00\xa0€" in receipt_html  # money in the reader's locale
    assert re.search(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2} MEZ", receipt_text)  # their zone, named
    assert f"http://testserver/payments/qr/codes/{codes[german.email].public_id}/" in receipt_text
    english_mails = {subject: (text, html) for subject, text, html in received[english.email]}
    receipt_text, _html = next(value for key, value in english_mails.items() if key.startswith("Payment"))
    assert "€50.00" in receipt_text and re.search(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} GMT", receipt_text)
    invitation_text, _html = next(value for key, value in english_mails.items() if "credit check" in key)
    assert "http://testserver/identity/credit-checks/respond/" in invitation_text
    assert "band" not in invitation_text.lower() and "score" not in invitation_text.lower()


def test_an_optional_kind_turned_off_is_not_sent_and_a_mandatory_one_is(smtp, make_user, dealer, client_for):
    german, english = _people(make_user)
    response = client_for(english).post(
        "/accounts/settings/notifications/", {"machines.charging_invoice_issued": "on"}
    )  # the expiry reminder left unticked: turned off
    assert response.status_code == 302
    operator = make_user(Role.DEALER, dealer_organisation=dealer.dealer_organisation)
    for person in (german, english):
        code = paid_code_create(owner=person, amount=20_00)
        _charging_event(owner=person, operator=operator)
    code_expiry_reminders_queue(now=code.expires_at - dt.timedelta(days=5))

    received = _mails(smtp)
    english_subjects = sorted(subject for subject, _text, _html in received[english.email])
    assert len(english_subjects) == 2 and english_subjects[0].startswith("Charging invoice")
    assert english_subjects[1].startswith("Payment received")
    assert len(received[german.email]) == 3  # receipt, invoice and the reminder, on by default
    assert SentNotification.objects.get(user=english, kind="payments.code_expiring").status == "suppressed"

    # Turning it on again later does not send the reminder of that same expiry.
    client_for(english).post("/accounts/settings/notifications/", {"payments.code_expiring": "on"})
    code_expiry_reminders_queue(now=code.expires_at - dt.timedelta(days=4))
    assert len(_mails(smtp)[english.email]) == 2
