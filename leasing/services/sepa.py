"""SEPA direct debits: the pain.008.001.02 file of a batch, and the import of returned debits.

The file is built with `sepaxml` and validated against the ISO 20022 pain.008.001.02 XSD that ships with it before
it is stored; staff download it and submit it to the bank. Debtors appear under a pseudonym (the contract number):
the IBAN is the only personal value the portal keeps.

Returned debits come back as a CSV (`end_to_end_id,amount,reason_code`, amount in major units with a dot). An import
is checked completely before anything is booked; each return reverses the collection's postings (the interest accrued
stays owed), puts the row back to due and moves the contract into arrears.
"""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from sepaxml import SepaDD

from leasing import ledger
from leasing.encryption import field_decrypt
from leasing.errors import ReturnFileInvalidError
from leasing.models import (
    Collection,
    CollectionStatus,
    ContractEvent,
    ContractStatus,
    DirectDebitBatch,
    DirectDebitBatchStatus,
    ReturnedDebitImport,
    ScheduleItem,
    ScheduleItemStatus,
)
from portal.money import Money

PAIN_008_SCHEMA = "pain.008.001.02"
RETURN_FILE_COLUMNS = ["end_to_end_id", "amount", "reason_code"]
MAX_RETURN_ROWS = 10_000


def sepa_creditor() -> dict[str, str]:
    """The creditor (the lessor) as the bank knows it (settings; their defaults are the scheme's test identifiers)."""
    return {
        "name": settings.LEASING_SEPA_CREDITOR_NAME,
        "IBAN": settings.LEASING_SEPA_CREDITOR_IBAN,
        "BIC": settings.LEASING_SEPA_CREDITOR_BIC,
        "creditor_id": settings.LEASING_SEPA_CREDITOR_ID,
    }


def pain008_build(*, batch: DirectDebitBatch) -> bytes:
    """The batch's debits as a schema-valid pain.008.001.02 document (raises if it does not validate)."""
    document = SepaDD({**sepa_creditor(), "batch": True, "currency": batch.currency}, schema=PAIN_008_SCHEMA)
    document._xml.find("CstmrDrctDbtInitn/GrpHdr/MsgId").text = batch.message_id  # our batch id, not a random one
    collections = batch.collections.select_related("contract__mandate", "schedule_item").order_by("id")
    for collection in collections:
        mandate = collection.contract.mandate
        document.add_payment(
            {
                "name": f"FinLab customer {collection.contract.number}",
                "IBAN": field_decrypt(blob=mandate.iban_encrypted, field="mandate.iban"),
                "amount": collection.amount,
                "type": "RCUR" if collection.schedule_item.number > 1 else "FRST",
                "collection_date": batch.collection_date,
                "mandate_id": mandate.reference,
                "mandate_date": mandate.signed_on,
                "description": f"Contract {collection.contract.number} instalment {collection.schedule_item.number}",
                "endtoend_id": collection.end_to_end_id,
            }
        )
    return document.export(validate=True)


@transaction.atomic
def direct_debit_batch_export(*, batch_id: int) -> DirectDebitBatch:
    """Closes an open batch and stores its pain.008 file; an exported batch is returned unchanged."""
    batch = DirectDebitBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status == DirectDebitBatchStatus.EXPORTED:
        return batch
    xml = pain008_build(batch=batch)
    batch.file_xml, batch.file_sha256 = xml, hashlib.sha256(xml).hexdigest()
    batch.status, batch.exported_at = DirectDebitBatchStatus.EXPORTED, timezone.now()
    batch.save()
    return batch


def _return_rows(*, content: bytes) -> list[tuple[Collection, str]]:
    """Parses and checks every row; raises `ReturnFileInvalidError` naming the first bad row."""
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        raise ReturnFileInvalidError("The file is not a UTF-8 CSV.") from None
    if reader.fieldnames != RETURN_FILE_COLUMNS or not rows or len(rows) > MAX_RETURN_ROWS:
        raise ReturnFileInvalidError(f"Expected the columns {','.join(RETURN_FILE_COLUMNS)} and 1 to 10,000 rows.")
    parsed = []
    for line, row in enumerate(rows, start=2):
        collection = Collection.objects.filter(end_to_end_id=row["end_to_end_id"] or "").first()
        if collection is None:
            raise ReturnFileInvalidError(f"Line {line}: unknown end-to-end id.", code="return_unknown_debit")
        try:
            amount = Money.from_decimal(Decimal(row["amount"] or "x"), collection.contract.currency).amount
        except (InvalidOperation, ValueError):
            amount = None
        if amount != collection.amount:
            raise ReturnFileInvalidError(
                f"Line {line}: the amount differs from the debit.", code="return_amount_mismatch"
            )
        parsed.append((collection, (row["reason_code"] or "")[:10]))
    return parsed


@transaction.atomic
def returned_debits_import(*, content: bytes, file_name: str, imported_by: object) -> ReturnedDebitImport:
    """Books every return of a file once; the same file again (same SHA-256) raises a conflict and books nothing."""
    digest = hashlib.sha256(content).hexdigest()
    rows = _return_rows(content=content)
    try:
        with transaction.atomic():
            record = ReturnedDebitImport.objects.create(
                file_sha256=digest, file_name=file_name[:200], imported_by=imported_by
            )
    except IntegrityError:
        raise ReturnFileInvalidError("This file was imported already.", code="return_file_duplicate") from None
    booked = sum(1 for collection, reason in rows if collection_return_book(collection_id=collection.pk, reason=reason))
    record.rows_booked = booked
    record.save(update_fields=["rows_booked"])
    return record


def collection_return_book(*, collection_id: int, reason: str) -> bool:
    """Books one returned direct debit; False when it was booked before."""
    collection = (
        Collection.objects.select_for_update().select_related("contract", "schedule_item").get(pk=collection_id)
    )
    if collection.status != CollectionStatus.SUBMITTED:
        return False
    contract, item = collection.contract, collection.schedule_item
    currency = contract.currency
    clearing = ledger.book_account_id(purpose=ledger.Purpose.SEPA_CLEARING, currency=currency)
    ledger.posting_book(
        event=f"return:{collection.pk}",
        currency=currency,
        legs=[
            ledger.Leg(
                "payment",
                contract.receivable_account_id,
                clearing,
                item.amount - item.services,
                ledger.LeaseTransferCode.DIRECT_DEBIT_RETURN,
            ),
            ledger.Leg(
                "services",
                ledger.book_account_id(purpose=ledger.Purpose.SERVICE_REVENUE, currency=currency),
                clearing,
                item.services,
                ledger.LeaseTransferCode.DIRECT_DEBIT_RETURN,
            ),
        ],
    )
    now = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(
        status=CollectionStatus.RETURNED, returned_at=now, return_reason=reason
    )
    ScheduleItem.objects.filter(pk=item.pk).update(status=ScheduleItemStatus.DUE, paid_at=None)
    if contract.status == ContractStatus.ACTIVE and item.due_date <= timezone.localdate():
        type(contract).objects.filter(pk=contract.pk).update(status=ContractStatus.IN_ARREARS, updated_at=now)
    ContractEvent.objects.create(
        contract=contract, kind="debit_returned", detail=f"{collection.end_to_end_id} {reason}"
    )
    return True
