"""Dealer invoices as EMVCo MPM QR codes: the portal's payloads parse back to the same fields and can be paid."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory
from core.errors import ApplicationError
from payments.codes.emv import TlvField, TlvTemplate, emv_crc, emv_payload_parse
from payments.models import DealerInvoice, DealerInvoiceStatus, QrCode
from payments.qr.invoices import dealer_invoice_create, dealer_invoice_pay, dealer_invoice_reference_from_payload
from payments.qr.services import qr_code_block_and_replace
from payments.qr.tokens import qr_png
from payments.tests.qr.factories import account_balance, database_snapshot, paid_code_create, product_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("amount", [1, 2_000, 123_456, 99_999_999])
def test_the_portal_s_invoices_parse_back_to_the_same_fields(dealer, amount):
    organisation = dealer.dealer_organisation

    invoice = dealer_invoice_create(user=dealer, organisation=organisation, amount=amount, description="Inspection")

    parsed = emv_payload_parse(invoice.payload)
    assert invoice.payload[-4:] == emv_crc(invoice.payload[:-4])
    assert parsed.amount == Decimal(amount).scaleb(-2)
    assert (parsed.currency_numeric, parsed.country_code, parsed.point_of_initiation) == ("978", "DE", "12")
    assert (parsed.merchant_category_code, parsed.merchant_city) == ("7538", "Berlin")
    assert parsed.merchant_name == organisation.name[:25]
    assert parsed.additional_data.reference_label == invoice.reference
    assert parsed.merchant_accounts == (
        TlvTemplate(tag="26", fields=(TlvField("00", "eu.finlab.portal"), TlvField("01", str(organisation.pk)))),
    )


def test_an_invoice_qr_image_decodes_to_its_reference(dealer):
    invoice = dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=2_000)

    text = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(text=invoice.payload))))[0].text

    assert dealer_invoice_reference_from_payload(payload=text) == invoice.reference


def test_a_customer_pays_an_invoice_from_a_code_and_settlement_pays_the_dealer(
    dealer, customer, code, django_capture_on_commit_callbacks
):
    invoice = dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=2_000)

    with django_capture_on_commit_callbacks(execute=True):
        paid = dealer_invoice_pay(invoice_id=invoice.pk, code_id=code.pk, customer=customer)

    assert paid.status == DealerInvoiceStatus.PAID
    assert account_balance(code.account_id) == (0, 2_000, 0, 5_000)


def test_an_invoice_above_the_balance_is_refused_and_changes_nothing(dealer, customer, code):
    invoice = dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=5_001)
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        dealer_invoice_pay(invoice_id=invoice.pk, code_id=code.pk, customer=customer)

    assert refusal.value.code == "insufficient_balance"
    assert database_snapshot() == before


def test_a_foreign_emv_payload_is_not_an_invoice():
    with pytest.raises(ApplicationError) as refusal:
        dealer_invoice_reference_from_payload(
            payload="00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
            "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"
        )

    assert refusal.value.code == "invoice_unknown"


def test_a_code_restricted_to_one_dealer_cannot_be_spent_at_another_dealer_through_an_invoice(
    customer, dealer, make_user, client_for
):
    """The attack: a code sold for one dealer only is presented to another dealer's invoice; the invoice path runs
    the same acceptance check as a redemption and refuses it."""
    other_dealer = make_user(Role.DEALER, dealer_organisation=DealerOrganisationFactory())
    product = product_create(accepted_by=[dealer.dealer_organisation])
    code = paid_code_create(owner=customer, amount=5_000, product=product)
    dealer_client, customer_client = client_for(other_dealer), client_for(customer)

    created = dealer_client.post("/payments/qr/dealer/invoices/", {"amount": "20.00", "description": "Car wash"})
    invoice = DealerInvoice.objects.get(dealer_organisation=other_dealer.dealer_organisation)
    assert created.status_code == 302
    opened = customer_client.post("/payments/qr/invoices/", {"payload": invoice.payload})
    assert opened.status_code == 302
    assert opened["Location"] == f"/payments/qr/invoices/{invoice.reference}/"
    before = database_snapshot()

    response = customer_client.post(opened["Location"], {"code": code.pk})

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["code"]] == ["code_not_accepted_here"]
    assert "This payment code is not accepted here." in response.content.decode()
    assert database_snapshot() == before
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_with_id, invoice.transfer_id) == (DealerInvoiceStatus.OPEN, None, None)
    assert account_balance(code.account_id) == (0, 0, 0, 5_000)

    # The dealer the code was sold for is paid from it through the same page.
    own_invoice = dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=2_000)
    paid = customer_client.post(f"/payments/qr/invoices/{own_invoice.reference}/", {"code": code.pk})
    assert paid.status_code == 302
    own_invoice.refresh_from_db()
    assert own_invoice.status == DealerInvoiceStatus.PAID
    assert account_balance(code.account_id) == (2_000, 0, 0, 5_000)


def test_a_blocked_or_expired_code_cannot_pay_an_invoice(dealer, customer, code):
    invoice = dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=2_000)
    QrCode.objects.filter(pk=code.pk).update(expires_at=timezone.now())
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        dealer_invoice_pay(invoice_id=invoice.pk, code_id=code.pk, customer=customer)

    assert refusal.value.code == "code_expired"
    assert database_snapshot() == before
    QrCode.objects.filter(pk=code.pk).update(expires_at=timezone.now() + datetime.timedelta(days=1))
    qr_code_block_and_replace(code_id=code.pk, owner=customer)
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        dealer_invoice_pay(invoice_id=invoice.pk, code_id=code.pk, customer=customer)

    assert refusal.value.code == "code_blocked"
    assert database_snapshot() == before
