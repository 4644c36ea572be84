"""Rejected (pain.002.001.03) and returned (camt.054.001.02) direct debits: files validated against the vendored
ISO 20022 schemas, reason codes kept, each debit booked once, bad files refused whole with a named reason."""

from __future__ import annotations

import datetime
import pathlib

import pytest
import xmlschema
from django.utils import timezone

from leasing import ledger, target2
from leasing.errors import ReturnFileInvalidError
from leasing.models import Collection, ContractStatus, DirectDebitBatch, ReturnedDebitImport
from leasing.services import arrears, collections, sepa_returns
from leasing.tests import sepa_support
from payments.ledger.registry import Purpose
from payments.ledger.selectors import account_get

pytestmark = pytest.mark.django_db
SCHEMAS = pathlib.Path(sepa_returns.__file__).resolve().parent.parent / "schemas"


@pytest.fixture
def debits(customer, back_office, loan_product, django_capture_on_commit_callbacks):
    """The fee (250.00 EUR) and instalment 1 of a contract, in one exported batch."""
    contract = sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    return contract, list(Collection.objects.filter(contract=contract).order_by("amount"))


def _state(contract):
    clearing = ledger.book_account_id(purpose=Purpose.LEASE_SEPA_CLEARING, currency="EUR")
    account = account_get(account_id=clearing)
    return (
        list(Collection.objects.order_by("id").values_list("status", "return_reason", "return_source")),
        ReturnedDebitImport.objects.count(),
        ledger.receivable_balance_get(account_id=contract.receivable_account_id),
        account.debits_posted - account.credits_posted,
        contract.__class__.objects.get(pk=contract.pk).status,
    )


def test_the_fixtures_are_valid_against_the_vendored_schemas(debits):
    _contract, (fee, instalment) = debits
    batch = fee.batch

    xmlschema.XMLSchema(str(SCHEMAS / "pain.002.001.03.xsd")).validate(
        sepa_support.pain002(message_id="REJ-1", batch_message_id=batch.message_id, rejects=[(fee, "AC04")]).decode()
    )
    xmlschema.XMLSchema(str(SCHEMAS / "camt.054.001.02.xsd")).validate(
        sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "MD06")]).decode()
    )


def test_a_rejected_debit_from_a_pain_002_is_booked_with_its_reason(debits, back_office):
    contract, (fee, instalment) = debits
    receivable_before = ledger.receivable_balance_get(account_id=contract.receivable_account_id)
    content = sepa_support.pain002(message_id="REJ-1", batch_message_id=fee.batch.message_id, rejects=[(fee, "AC04")])

    record = sepa_returns.returned_debits_import(content=content, file_name="pain002.xml", imported_by=back_office)

    assert (record.rows_booked, record.message_type, record.message_id) == (1, "pain.002", "REJ-1")
    fee.refresh_from_db()
    instalment.refresh_from_db()
    assert (fee.status, fee.return_reason, fee.return_source, fee.return_import_id) == (
        "returned",
        "AC04",
        "pain.002",
        record.pk,
    )
    assert instalment.status == "submitted"
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == receivable_before + 250_00
    fee.schedule_item.refresh_from_db()
    assert fee.schedule_item.status == "due"


def test_a_returned_debit_from_a_camt_054_is_booked_and_moves_the_lease_into_arrears(debits, back_office):
    contract, (_fee, instalment) = debits
    receivable_before = ledger.receivable_balance_get(account_id=contract.receivable_account_id)
    content = sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "AM04")])

    record = sepa_returns.returned_debits_import(content=content, file_name="camt054.xml", imported_by=back_office)

    assert (record.rows_booked, record.message_type) == (1, "camt.054")
    instalment.refresh_from_db()
    assert (instalment.status, instalment.return_reason, instalment.return_source) == ("returned", "AM04", "camt.054")
    item = instalment.schedule_item
    item.refresh_from_db()
    assert item.status == "due"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_ARREARS
    assert ledger.receivable_balance_get(account_id=contract.receivable_account_id) == receivable_before + item.amount
    clearing = account_get(account_id=ledger.book_account_id(purpose=Purpose.LEASE_SEPA_CLEARING, currency="EUR"))
    assert clearing.debits_posted - clearing.credits_posted == 250_00
    assert arrears.days_past_due(contract=contract, on=item.due_date + datetime.timedelta(days=3)) == 3


def test_the_same_file_imported_twice_books_once(debits, back_office):
    contract, (_fee, instalment) = debits
    content = sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "AM04")])
    sepa_returns.returned_debits_import(content=content, file_name="camt054.xml", imported_by=back_office)
    after_first = _state(contract)

    with pytest.raises(ReturnFileInvalidError) as raised:
        sepa_returns.returned_debits_import(content=content, file_name="again.xml", imported_by=back_office)
    with pytest.raises(ReturnFileInvalidError) as resent:  # the same bank message, laid out differently
        sepa_returns.returned_debits_import(
            content=content.replace(b"\n", b"\r\n"), file_name="resent.xml", imported_by=back_office
        )

    assert (raised.value.code, resent.value.code) == ("return_file_duplicate", "return_file_duplicate")
    assert _state(contract) == after_first


def test_the_returned_row_is_announced_and_collected_again_as_a_new_attempt(
    debits, back_office, django_capture_on_commit_callbacks
):
    contract, (_fee, instalment) = debits
    sepa_returns.returned_debits_import(
        content=sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "MS03")]),
        file_name="r.xml",
        imported_by=back_office,
    )
    sepa_support.notices_sent(on=timezone.localdate(), capture=django_capture_on_commit_callbacks)
    notice = instalment.schedule_item.pre_notifications.get(status="scheduled")

    result = collections.collections_run(on=target2.submission_deadline(notice.collection_date))

    assert result.submitted == 1
    assert list(
        Collection.objects.filter(schedule_item=instalment.schedule_item)
        .values_list("attempt", "status")
        .order_by("attempt")
    ) == [(1, "returned"), (2, "submitted")]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_ARREARS  # the announced new attempt does not hide the arrears


def test_a_debit_returned_by_another_message_already_is_not_booked_again(debits, back_office):
    contract, (_fee, instalment) = debits
    sepa_returns.returned_debits_import(
        content=sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "AM04")]),
        file_name="a.xml",
        imported_by=back_office,
    )
    after_first = _state(contract)

    record = sepa_returns.returned_debits_import(
        content=sepa_support.camt054(message_id="NTF-2", returns=[(instalment, "AM04")]),
        file_name="b.xml",
        imported_by=back_office,
    )

    assert record.rows_booked == 0
    assert _state(contract)[0] == after_first[0]
    assert _state(contract)[2:] == after_first[2:]


def test_a_whole_file_rejected_by_the_bank_rejects_all_its_debits(debits, back_office):
    _contract, (fee, _instalment) = debits
    content = sepa_support.pain002(
        message_id="REJ-ALL", batch_message_id=fee.batch.message_id, rejects=[], group_status="RJCT"
    ).replace(b"<GrpSts>RJCT</GrpSts>", b"<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>")

    record = sepa_returns.returned_debits_import(content=content, file_name="rjct.xml", imported_by=back_office)

    assert record.rows_booked == 2
    assert set(Collection.objects.values_list("status", "return_reason")) == {("returned", "FF01")}


def _bad_files(fee, instalment):
    valid_camt = sepa_support.camt054(message_id="NTF-9", returns=[(instalment, "AM04")])
    wrong_amount = sepa_support.camt054(message_id="NTF-8", returns=[(instalment, "AM04")]).replace(
        f">{sepa_support.amount_text(instalment.amount)}<".encode(), b">1.00<"
    )
    other_batch = DirectDebitBatch.objects.create(
        collection_date=timezone.localdate(), currency="EUR", message_id="FLDD-OTHER", status="exported"
    )
    return [
        (b"end_to_end_id,amount,reason_code\nX,1.00,AM04\n", "return_file_not_xml"),
        (b"<Document><unclosed></Document>", "return_file_not_xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><d>&b;</d>',
            "return_file_not_xml",
        ),
        (valid_camt.replace(b"camt.054.001.02", b"camt.053.001.02"), "return_file_unsupported"),
        (
            valid_camt.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>"),
            "return_file_schema_invalid",
        ),
        (valid_camt.replace(b"<Sts>BOOK</Sts>", b""), "return_file_schema_invalid"),
        (valid_camt.replace(instalment.end_to_end_id.encode(), b"UNKNOWN-1"), "return_unknown_debit"),
        (wrong_amount, "return_amount_mismatch"),
        (
            sepa_support.camt054(message_id="NTF-7", returns=[(instalment, "AM04")], account_iban="NL91ABNA0417164300"),
            "return_account_mismatch",
        ),
        (
            sepa_support.pain002(message_id="REJ-9", batch_message_id=other_batch.message_id, rejects=[(fee, "AC04")]),
            "return_batch_mismatch",
        ),
        (
            sepa_support.camt054(message_id="NTF-6", returns=[(fee, "AC04"), (instalment, "AM04")]).replace(
                fee.end_to_end_id.encode(), b"UNKNOWN-2"
            ),
            "return_unknown_debit",
        ),
        (sepa_support.camt054(message_id="NTF-5", returns=[]), "return_file_empty"),
        (b"x" * (sepa_returns.MAX_FILE_BYTES + 1), "return_file_too_large"),
    ]


def test_bad_files_are_refused_whole_with_a_named_reason_and_book_nothing(debits, back_office):
    contract, (fee, instalment) = debits
    cases = _bad_files(fee, instalment)
    before = _state(contract)
    refused = []

    for content, _ in cases:
        with pytest.raises(ReturnFileInvalidError) as raised:
            sepa_returns.returned_debits_import(content=content, file_name="bad.xml", imported_by=back_office)
        refused.append(raised.value.code)

    assert refused == [code for _, code in cases]
    assert _state(contract) == before


def test_the_schema_error_names_where_the_file_is_wrong(debits, back_office):
    _contract, (_fee, instalment) = debits
    content = sepa_support.camt054(message_id="NTF-1", returns=[(instalment, "AM04")]).replace(b"<Sts>BOOK</Sts>", b"")

    with pytest.raises(ReturnFileInvalidError) as raised:
        sepa_returns.returned_debits_import(content=content, file_name="bad.xml", imported_by=back_office)

    assert "camt.054.001.02" in raised.value.detail
    assert "Ntry" in raised.value.detail
