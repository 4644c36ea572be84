"""SEPA direct debits: the pain.008.001.02 file validates against the ISO 20022 schema, asks for a TARGET2 business
day at least one business day after it is made, names the debtor agent as the EPC guidelines ask, and marks FRST/RCUR
per mandate."""

from __future__ import annotations

import ast
import datetime
import inspect
import pathlib
import xml.etree.ElementTree as ET

import pytest
import sepaxml
import xmlschema
from django.utils import timezone

from leasing import target2
from leasing.models import Collection, DirectDebitBatch, DirectDebitPreNotification, ScheduleItem
from leasing.services import collections, sepa, sepa_returns
from leasing.tests import sepa_support
from leasing.tests.sepa_support import IBAN

pytestmark = pytest.mark.django_db
XSD = pathlib.Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


def _exported(batch: DirectDebitBatch, on: datetime.date | None = None) -> ET.Element:
    batch = sepa.direct_debit_batch_export(
        batch_id=batch.pk, on=on or target2.submission_deadline(batch.collection_date)
    )
    xml = bytes(batch.file_xml)
    xmlschema.XMLSchema(str(XSD)).validate(xml.decode())
    return ET.fromstring(xml)  # noqa: S314 - the file this test just generated


def test_the_batch_file_validates_against_the_pain_008_schema(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    batch = DirectDebitBatch.objects.get()

    root = _exported(batch)

    batch.refresh_from_db()
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    instalment = ScheduleItem.objects.get(contract=contract, number=1)
    assert header.find("p:MsgId", NS).text == batch.message_id
    assert header.find("p:NbOfTxs", NS).text == "2"
    total = 250_00 + instalment.amount
    assert header.find("p:CtrlSum", NS).text == f"{total // 100}.{total % 100:02d}"
    assert [node.text for node in root.iter(f"{{{NS['p']}}}IBAN")].count(IBAN) == 2
    assert (batch.status, batch.count, batch.total) == ("exported", 2, total)


def test_exporting_twice_returns_the_same_file(customer, back_office, loan_product, django_capture_on_commit_callbacks):
    sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    batch = DirectDebitBatch.objects.get()

    first = sepa.direct_debit_batch_export(batch_id=batch.pk)
    second = sepa.direct_debit_batch_export(batch_id=batch.pk)

    assert first.file_sha256 == second.file_sha256


def test_the_file_never_asks_for_collection_on_the_day_it_is_made_or_on_a_closing_day(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    """Today's code wrote the run's own date (a Sunday, 2026-12-06) as ReqdColltnDt."""
    sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    batch = DirectDebitBatch.objects.get()
    made_on = target2.submission_deadline(batch.collection_date)

    root = _exported(batch, on=made_on)

    requested = {datetime.date.fromisoformat(node.text) for node in root.iter(f"{{{NS['p']}}}ReqdColltnDt")}
    assert requested == {batch.collection_date}
    (date,) = requested
    assert target2.is_business_day(date)
    assert target2.business_day_before(date) >= made_on
    assert date >= timezone.localdate() + datetime.timedelta(days=14)


def test_a_batch_exported_after_its_deadline_asks_for_the_next_date_the_bank_accepts(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    batch = DirectDebitBatch.objects.get()
    late = batch.collection_date  # staff export on the collection day itself

    root = _exported(batch, on=late)

    expected = target2.business_day_on_or_after(late + datetime.timedelta(days=1))
    assert {node.text for node in root.iter(f"{{{NS['p']}}}ReqdColltnDt")} == {expected.isoformat()}


def test_the_debtor_agent_says_notprovided_without_a_bic(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )

    root = _exported(DirectDebitBatch.objects.get())

    agents = list(root.iterfind(".//p:DrctDbtTxInf/p:DbtrAgt/p:FinInstnId", NS))
    assert len(agents) == 2
    for agent in agents:
        assert [child.tag.split("}")[1] for child in agent] == ["Othr"]
        assert agent.find("p:Othr/p:Id", NS).text == "NOTPROVIDED"


def test_the_debtor_agent_carries_the_bic_when_the_customer_gave_it(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    sepa_support.collected(
        customer=customer,
        back_office=back_office,
        product=loan_product,
        capture=django_capture_on_commit_callbacks,
        bic="abnanl2a",
    )

    root = _exported(DirectDebitBatch.objects.get())

    agents = list(root.iterfind(".//p:DrctDbtTxInf/p:DbtrAgt/p:FinInstnId", NS))
    assert [agent.find("p:BIC", NS).text for agent in agents] == ["ABNANL2A", "ABNANL2A"]
    assert all(agent.find("p:Othr", NS) is None for agent in agents)


def _sequence_types(root: ET.Element) -> dict[str, str]:
    """End-to-end id → the sequence type of its payment block."""
    types = {}
    for block in root.iterfind(".//p:PmtInf", NS):
        sequence = block.find("p:PmtTpInf/p:SeqTp", NS).text
        for transaction in block.iterfind("p:DrctDbtTxInf", NS):
            types[transaction.find("p:PmtId/p:EndToEndId", NS).text] = sequence
    return types


def test_the_first_debit_under_a_mandate_is_frst_and_later_ones_rcur(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    contract = sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    first_root = _exported(DirectDebitBatch.objects.get())
    second_row = ScheduleItem.objects.get(contract=contract, number=2)
    notice_day = second_row.due_date - datetime.timedelta(days=19)
    sepa_support.notices_sent(on=notice_day, capture=django_capture_on_commit_callbacks)
    notice = DirectDebitPreNotification.objects.get(schedule_item=second_row, status="scheduled")
    collections.collections_run(on=target2.submission_deadline(notice.collection_date))
    second_batch = DirectDebitBatch.objects.get(status="open")

    second_root = _exported(second_batch)

    assert set(_sequence_types(first_root).values()) == {"FRST"}
    assert list(_sequence_types(second_root).values()) == ["RCUR"]
    assert notice.collection_date == target2.business_day_on_or_after(second_row.due_date)


def test_after_a_rejected_first_debit_the_next_one_is_frst_again(
    customer, back_office, loan_product, django_capture_on_commit_callbacks
):
    """EPC rulebook: a FRST rejected before settlement leaves the mandate unused; the next debit is FRST again."""
    contract = sepa_support.collected(
        customer=customer, back_office=back_office, product=loan_product, capture=django_capture_on_commit_callbacks
    )
    batch = DirectDebitBatch.objects.get()
    _exported(batch)
    rejects = [(collection, "AC04") for collection in Collection.objects.filter(batch=batch)]
    sepa_returns.returned_debits_import(
        content=sepa_support.pain002(message_id="REJ-1", batch_message_id=batch.message_id, rejects=rejects),
        file_name="pain002.xml",
        imported_by=back_office,
    )
    sepa_support.notices_sent(on=timezone.localdate(), capture=django_capture_on_commit_callbacks)
    notice = DirectDebitPreNotification.objects.filter(contract=contract, status="scheduled").first()
    collections.collections_run(on=target2.submission_deadline(notice.collection_date))

    root = _exported(DirectDebitBatch.objects.get(status="open"))

    assert set(_sequence_types(root).values()) == {"FRST"}


def test_the_file_is_built_through_the_public_interface_of_sepaxml():
    """No attribute of the sepaxml document whose name starts with an underscore is touched."""
    tree = ast.parse(inspect.getsource(sepa))
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert private == []
