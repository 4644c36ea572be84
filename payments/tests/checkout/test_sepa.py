"""SEPA checkout: the GiroCode on the order page, and a CAMT.053 import with an exact, a partial and an unknown payment."""

from __future__ import annotations

import io

import pytest
import segno
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.errors import ApplicationError
from core.money import Money
from payments.checkout.camt import camt053_parse
from payments.checkout.sepa import bank_statement_entry_resolve, bank_statement_import, sepa_order_payload
from payments.checkout.services import checkout_order_create
from payments.codes.epc import epc_payload_parse, rf_reference_create
from payments.models import BankStatement, BankStatementEntry, CheckoutOrderStatus, CheckoutProvider, QrCode
from payments.qr.selectors import qr_code_view
from payments.tests.qr.factories import database_snapshot, product_create

pytestmark = pytest.mark.django_db


def _entry(reference: str, amount: str, creditor_reference: str, *, structured: bool = True) -> str:
    remittance = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{creditor_reference}</Ref></CdtrRefInf></Strd>"
        if structured
        else f"<Ustrd>{creditor_reference}</Ustrd>"
    )
    return f"""
    <Ntry>
      <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2026-03-02</Dt></BookgDt><ValDt><Dt>2026-03-02</Dt></ValDt>
      <AcctSvcrRef>{reference}</AcctSvcrRef>
      <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
      <NtryDtls><TxDtls>
        <RltdPties><Dbtr><Nm>Erika Mustermann</Nm></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf>{remittance}</RmtInf>
      </TxDtls></NtryDtls>
    </Ntry>"""


def camt053(*entries: str, message_id: str = "MSG-1") -> bytes:
    """A CAMT.053.001.02 statement of the portal's account holding `entries`."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-03-02T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-{message_id}</Id><CreDtTm>2026-03-02T18:00:00</CreDtTm>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
      {"".join(entries)}
      <Ntry><Amt Ccy="EUR">12.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><AcctSvcrRef>FEE-1</AcctSvcrRef></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


def _sepa_order(customer, amount: int):
    order, _ = checkout_order_create(
        customer=customer, product=product_create(), amount=amount, provider=CheckoutProvider.SEPA_TRANSFER
    )
    return order


def test_the_order_page_shows_a_girocode_with_iban_amount_and_rf_reference(customer, client_for):
    order = _sepa_order(customer, 5_000)

    response = client_for(customer).get(f"/payments/qr/orders/{order.public_id}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="iban">DE89 3704 0044 0532 0130 00<' in page
    assert f'data-testid="creditor-reference">{order.creditor_reference}<' in page
    assert page.split('data-testid="girocode">', 1)[1].lstrip().startswith("<svg")


def test_the_girocode_payload_decodes_back_to_the_order(customer):
    order = _sepa_order(customer, 5_000)
    payload = sepa_order_payload(order=order)
    buffer = io.BytesIO()
    segno.make_qr(payload, error="m").save(buffer, kind="png", scale=6)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())))[0].text

    transfer = epc_payload_parse(decoded)
    assert (transfer.iban, transfer.amount, transfer.creditor_reference) == (
        "DE89370400440532013000", Money(5_000, "EUR"), order.creditor_reference,
    )  # fmt: skip
    assert order.creditor_reference == rf_reference_create(reference=f"QR{order.pk:010d}")


def test_an_exact_payment_issues_the_code_and_partial_and_unknown_go_to_review(customer, back_office):
    exact, partial = _sepa_order(customer, 5_000), _sepa_order(customer, 10_000)
    unknown_reference = rf_reference_create(reference="QR9999999999")
    data = camt053(
        _entry("BANK-1", "50.00", exact.creditor_reference),
        _entry("BANK-2", "60.00", partial.creditor_reference, structured=False),
        _entry("BANK-3", "25.00", unknown_reference),
    )

    result = bank_statement_import(data=data, user=back_office)

    exact.refresh_from_db()
    partial.refresh_from_db()
    assert (result.matched, result.to_review, result.duplicates) == (1, 2, 0)
    assert exact.status == CheckoutOrderStatus.PAID
    assert qr_code_view(code=exact.code).balance == Money(5_000, "EUR")
    assert (partial.status, partial.code) == (CheckoutOrderStatus.AWAITING_PAYMENT, None)
    assert QrCode.objects.count() == 1
    entries = {e.entry_reference: (e.status, e.amount, e.order_id) for e in BankStatementEntry.objects.all()}
    assert entries == {
        "BANK-1": ("matched", 5_000, exact.pk),
        "BANK-2": ("partial", 6_000, partial.pk),
        "BANK-3": ("unknown", 2_500, None),
    }


def test_the_review_queue_page_lists_the_partial_and_the_unknown_payment(customer, back_office, client_for):
    exact, partial = _sepa_order(customer, 5_000), _sepa_order(customer, 10_000)
    data = camt053(
        _entry("BANK-1", "50.00", exact.creditor_reference),
        _entry("BANK-2", "60.00", partial.creditor_reference),
        _entry("BANK-3", "25.00", "RF00NOTHING"),
    )
    client = client_for(back_office)
    upload = io.BytesIO(data)
    upload.name = "statement.xml"

    response = client.post("/payments/qr/back-office/bank-statements/", {"statement": upload}, follow=True)

    page = response.content.decode()
    assert "Imported: 1 matched, 2 to review, 0 seen before." in page
    assert ('data-testid="review-BANK-2"' in page, 'data-testid="review-BANK-3"' in page) == (True, True)
    assert 'data-testid="review-BANK-1"' not in page


def test_importing_the_same_file_twice_is_refused_and_changes_nothing(customer, back_office):
    order = _sepa_order(customer, 5_000)
    data = camt053(_entry("BANK-1", "50.00", order.creditor_reference))
    bank_statement_import(data=data, user=back_office)
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        bank_statement_import(data=data, user=back_office)

    assert refusal.value.code == "statement_already_imported"
    assert database_snapshot() == before


def test_an_overpayment_and_a_payment_for_a_paid_order_wait_for_review(customer, back_office):
    order = _sepa_order(customer, 5_000)
    bank_statement_import(data=camt053(_entry("BANK-1", "50.00", order.creditor_reference)), user=back_office)

    bank_statement_import(
        data=camt053(_entry("BANK-2", "50.00", order.creditor_reference), message_id="MSG-2"), user=back_office
    )
    other = _sepa_order(customer, 5_000)
    bank_statement_import(
        data=camt053(_entry("BANK-3", "70.00", other.creditor_reference), message_id="MSG-3"), user=back_office
    )

    statuses = dict(BankStatementEntry.objects.values_list("entry_reference", "status"))
    assert statuses == {"BANK-1": "matched", "BANK-2": "already_paid", "BANK-3": "overpaid"}
    resolved = bank_statement_entry_resolve(
        entry_id=BankStatementEntry.objects.get(entry_reference="BANK-3").pk, user=back_office, note="Refunded 20 EUR"
    )
    assert (resolved.status, resolved.review_note) == ("resolved", "Refunded 20 EUR")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<Document><unclosed>", "camt_malformed"),
        (b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'>]><d>&a;</d>", "camt_malformed"),
        (b"<Document><Other/></Document>", "camt_malformed"),
        (b"<x>" + b" " * (2 * 1024 * 1024) + b"</x>", "camt_too_large"),
    ],
    ids=["broken-xml", "entity-declaration", "not-camt", "too-large"],
)
def test_unreadable_statements_are_refused(data, code):
    with pytest.raises(ApplicationError) as refusal:
        camt053_parse(data=data)

    assert refusal.value.code == code


def test_a_camt053_entry_with_a_negative_amount_is_refused_whole_with_a_named_reason(customer, back_office, client_for):
    """The attack: a statement whose second credit is negative used to reach the database's amount check and answer
    500 after the first entry had issued a code. Now the whole file is refused before anything is booked."""
    order = _sepa_order(customer, 5_000)
    data = camt053(
        _entry("BANK-1", "50.00", order.creditor_reference), _entry("BANK-2", "-50.00", order.creditor_reference)
    )
    before = database_snapshot()

    response = client_for(back_office).post(
        "/payments/qr/back-office/bank-statements/", {"statement": SimpleUploadedFile("statement.xml", data)}
    )

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["statement"]] == ["camt_amount_invalid"]
    assert "Entry 2 has an amount that is not a positive sum in a known currency: &#x27;-50.00&#x27;." in (
        response.content.decode()
    )
    assert database_snapshot() == before
    order.refresh_from_db()
    assert (order.status, order.code) == (CheckoutOrderStatus.AWAITING_PAYMENT, None)
    assert BankStatement.objects.count() == 0


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([("BANK-1", "0.00")], "camt_amount_invalid"),
        ([("BANK-1", "50.001")], "camt_amount_invalid"),
        ([("BANK-1", "5e1")], "camt_amount_invalid"),
        ([("BANK-1", "NaN")], "camt_amount_invalid"),
        ([("BANK-1", "99999999999999999.99")], "camt_amount_invalid"),
        ([("B" * 65, "50.00")], "camt_reference_invalid"),
        ([("BANK-1", "50.00"), ("BANK-1", "20.00")], "camt_duplicate_entry"),
    ],
    ids=["zero", "three-decimals", "exponent", "not-a-number", "twenty-digits", "long-reference", "duplicate"],
)
def test_a_statement_with_one_bad_entry_is_refused_whole(customer, back_office, entries, code):
    order = _sepa_order(customer, 5_000)
    data = camt053(*(_entry(reference, amount, order.creditor_reference) for reference, amount in entries))
    before = database_snapshot()

    with pytest.raises(ApplicationError) as refusal:
        bank_statement_import(data=data, user=back_office)

    assert refusal.value.code == code
    assert database_snapshot() == before


def test_an_unknown_encoding_is_refused_as_unreadable():
    with pytest.raises(ApplicationError) as refusal:
        camt053_parse(data=b'<?xml version="1.0" encoding="no-such-encoding"?><Document/>')

    assert refusal.value.code == "camt_malformed"
