"""SEPA direct debits: the pain.008.001.02 file validates against the ISO 20022 schema; returns are booked once."""

from __future__ import annotations

import datetime
import pathlib
import xml.etree.ElementTree as ET

import pytest
import sepaxml
import xmlschema
from django.utils import timezone

from leasing import ledger
from leasing.errors import ReturnFileInvalidError
from leasing.models import Collection, ContractStatus, DirectDebitBatch, ReturnedDebitImport, ScheduleItem
from leasing.services import arrears, collections, sepa
from leasing.tests import factories
from payments.models import Account

pytestmark = pytest.mark.django_db
XSD = pathlib.Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
IBAN = "NL91ABNA0417164300"


def _collected(customer, back_office, product):
    contract = factories.contract_active(
        customer=customer,
        back_office=back_office,
        product=product,
        method="sepa_direct_debit",
        iban=IBAN,
        timing="in_advance",
    )
    result = collections.collections_run(on=timezone.localdate())
    assert result.submitted == 2
    return contract


def test_the_batch_file_validates_against_the_pain_008_schema(customer, back_office, loan_product):
    contract = _collected(customer, back_office, loan_product)
    batch = DirectDebitBatch.objects.get()

    batch = sepa.direct_debit_batch_export(batch_id=batch.pk)

    xml = bytes(batch.file_xml)
    xmlschema.XMLSchema(str(XSD)).validate(xml.decode())
    root = ET.fromstring(xml)  # noqa: S314 - the file this test just generated
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    instalment = ScheduleItem.objects.get(contract=contract, number=1)
    assert header.find("p:MsgId", NS).text == batch.message_id
    assert header.find("p:NbOfTxs", NS).text == "2"
    total = 250_00 + instalment.amount
    assert header.find("p:CtrlSum", NS).text == f"{total // 100}.{total % 100:02d}"
    assert [node.text for node in root.iter(f"{{{NS['p']}}}IBAN")].count(IBAN) == 2
    assert (batch.status, batch.count, batch.total) == ("exported", 2, total)


def test_exporting_twice_returns_the_same_file(customer, back_office, loan_product):
    _collected(customer, back_office, loan_product)
    batch = DirectDebitBatch.objects.get()

    first = sepa.direct_debit_batch_export(batch_id=batch.pk)
    second = sepa.direct_debit_batch_export(batch_id=batch.pk)

    assert first.file_sha256 == second.file_sha256


def test_a_returned_debit_is_booked_and_moves_the_lease_into_arrears(customer, back_office, loan_product):
    contract = _collected(customer, back_office, loan_product)
    receivable_before = ledger.account_balance_get(account_id=contract.receivable_account_id)
    collection = Collection.objects.get(schedule_item__number=1)
    amount = f"{collection.amount // 100}.{collection.amount % 100:02d}"
    content = f"end_to_end_id,amount,reason_code\n{collection.end_to_end_id},{amount},AM04\n".encode()

    record = sepa.returned_debits_import(content=content, file_name="returns.csv", imported_by=back_office)

    assert record.rows_booked == 1
    collection.refresh_from_db()
    assert (collection.status, collection.return_reason) == ("returned", "AM04")
    item = collection.schedule_item
    item.refresh_from_db()
    assert item.status == "due"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_ARREARS
    assert ledger.account_balance_get(account_id=contract.receivable_account_id) == receivable_before + item.amount
    clearing = ledger.book_account_id(purpose=ledger.Purpose.SEPA_CLEARING, currency="EUR")
    assert Account.objects.get(pk=clearing).debits_posted - Account.objects.get(pk=clearing).credits_posted == 250_00
    assert arrears.days_past_due(contract=contract, on=item.due_date + datetime.timedelta(days=3)) == 3

    with pytest.raises(ReturnFileInvalidError) as raised:
        sepa.returned_debits_import(content=content, file_name="again.csv", imported_by=back_office)
    assert raised.value.code == "return_file_duplicate"


def test_the_returned_row_is_collected_again_as_a_new_attempt(customer, back_office, loan_product):
    _collected(customer, back_office, loan_product)
    collection = Collection.objects.get(schedule_item__number=1)
    amount = f"{collection.amount // 100}.{collection.amount % 100:02d}"
    sepa.returned_debits_import(
        content=f"end_to_end_id,amount,reason_code\n{collection.end_to_end_id},{amount},MS03\n".encode(),
        file_name="r.csv",
        imported_by=back_office,
    )

    result = collections.collections_run(on=timezone.localdate())

    assert result.submitted == 1
    assert list(
        Collection.objects.filter(schedule_item=collection.schedule_item)
        .values_list("attempt", "status")
        .order_by("attempt")
    ) == [(1, "returned"), (2, "submitted")]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"end_to_end_id,amount,reason_code\nUNKNOWN,1.00,AM04\n", "return_unknown_debit"),
        (b"wrong,header\n", "return_file_invalid"),
        (b"\xff\xfe", "return_file_invalid"),
        ("end_to_end_id,amount,reason_code\n{id},0.01,AM04\n", "return_amount_mismatch"),
        ("end_to_end_id,amount,reason_code\n{id},abc,AM04\n", "return_amount_mismatch"),
    ],
)
def test_a_bad_return_file_books_nothing(customer, back_office, loan_product, content, code):
    _collected(customer, back_office, loan_product)
    collection = Collection.objects.get(schedule_item__number=1)
    if isinstance(content, str):
        content = content.format(id=collection.end_to_end_id).encode()

    with pytest.raises(ReturnFileInvalidError) as raised:
        sepa.returned_debits_import(content=content, file_name="bad.csv", imported_by=back_office)

    assert raised.value.code == code
    assert ReturnedDebitImport.objects.count() == 0
    assert set(Collection.objects.values_list("status", flat=True)) == {"submitted"}
