"""Rejected and returned direct debits from the bank's ISO 20022 files.

Two messages are read: pain.002.001.03 (Customer Payment Status Report: debits the banks rejected before settlement,
`TxSts` RJCT, or the whole file, `GrpSts` RJCT) and camt.054.001.02 (Bank-to-Customer Debit/Credit Notification:
debits returned after settlement, a debit entry with `RtrInf`). Each file is parsed without DTDs or entities,
validated against its vendored XSD (`leasing/schemas/`), and checked completely before anything is booked: one bad
transaction refuses the whole file with a named reason. The file (SHA-256) and the bank message (type and MsgId) are
recorded under unique constraints, so the same file or message again is refused; a debit returned already is not
booked a second time by another file. Each booked return reverses the collection's postings (the interest accrued
stays owed), puts the row back to due, moves a running contract into arrears, and keeps the ISO reason code.
"""

from __future__ import annotations

import hashlib
import io
import pathlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from xml.etree.ElementTree import Element, ParseError

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import Money
from leasing import ledger
from leasing.errors import ReturnFileInvalidError
from leasing.models import (
    Collection,
    CollectionMethod,
    CollectionStatus,
    ContractEvent,
    ContractStatus,
    ReturnedDebitImport,
    ReturnSource,
    ScheduleItem,
    ScheduleItemStatus,
)
from leasing.notifications import direct_debit_returned_notify
from payments.ledger.registry import Purpose, TransferCode

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent.parent / "schemas"
PAIN_002 = "pain.002.001.03"
CAMT_054 = "camt.054.001.02"
NAMESPACES = {f"urn:iso:std:iso:20022:tech:xsd:{name}": name for name in (PAIN_002, CAMT_054)}
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class BankReturn:
    """One debit the bank file gives back: its end-to-end id, the amount (major units, as written; None when the
    file does not repeat it), the currency, the ISO reason code, and for a pain.002 the original message id."""

    end_to_end_id: str
    amount: Decimal | None
    currency: str
    reason: str
    original_message_id: str = ""


@dataclass(frozen=True)
class BankReturnFile:
    message_type: str
    message_id: str
    returns: list[BankReturn]


def _refuse(message: str, code: str) -> ReturnFileInvalidError:
    return ReturnFileInvalidError(message, code=code)


@lru_cache(maxsize=2)
def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_DIR / f"{name}.xsd"))


def bank_file_read(*, content: bytes) -> BankReturnFile:
    """Parses and validates a pain.002.001.03 or camt.054.001.02 file; raises `ReturnFileInvalidError` naming why not."""
    if len(content) > MAX_FILE_BYTES:
        raise _refuse(_("The file is larger than 5 MB."), "return_file_too_large")
    try:
        root = DefusedElementTree.fromstring(content, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise _refuse(_("The file is not well-formed XML (or it declares a DTD)."), "return_file_not_xml") from None
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    message_type = NAMESPACES.get(namespace)
    if message_type is None:
        raise _refuse(
            _("The file is neither a pain.002.001.03 nor a camt.054.001.02 message."), "return_file_unsupported"
        )
    resource = xmlschema.XMLResource(io.BytesIO(content), allow="none", defuse="always")  # reaches for nothing else
    errors = list(_schema(message_type).iter_errors(resource))
    if errors:
        error = errors[0]
        raise _refuse(
            _("The file does not match the %(schema)s schema at %(path)s: %(reason)s")
            % {"schema": message_type, "path": error.path or "/", "reason": error.reason or ""},
            "return_file_schema_invalid",
        )
    reader = _pain002_returns if message_type == PAIN_002 else _camt054_returns
    message_id, returns = reader(root=root, ns={"d": namespace})
    if not returns:
        raise _refuse(_("The file holds no rejected or returned direct debit."), "return_file_empty")
    identifiers = [item.end_to_end_id for item in returns]
    if len(set(identifiers)) != len(identifiers):
        raise _refuse(_("The file gives the same debit back twice."), "return_file_duplicate_debit")
    return BankReturnFile(message_type=message_type, message_id=message_id, returns=returns)


def _text(node: Element | None, path: str, ns: dict[str, str]) -> str:
    found = None if node is None else node.find(path, ns)
    return (found.text or "").strip() if found is not None else ""


def _reason(node: Element | None, ns: dict[str, str]) -> str:
    return _text(node, "d:StsRsnInf/d:Rsn/d:Cd", ns) or _text(node, "d:StsRsnInf/d:Rsn/d:Prtry", ns)


def _amount(node: Element | None) -> tuple[Decimal | None, str]:
    if node is None:
        return None, ""
    try:
        return Decimal((node.text or "").strip()), node.get("Ccy", "")
    except InvalidOperation:
        return None, node.get("Ccy", "")


def _first(*nodes: Element | None) -> Element | None:
    """The first node found (an element without children is falsy, so `or` cannot be used)."""
    return next((node for node in nodes if node is not None), None)


def _pain002_returns(*, root: Element, ns: dict[str, str]) -> tuple[str, list[BankReturn]]:
    """Rejected transactions; a group status RJCT without transactions rejects every debit of the original file."""
    report = root.find("d:CstmrPmtStsRpt", ns)
    group = report.find("d:OrgnlGrpInfAndSts", ns)
    original_id = _text(group, "d:OrgnlMsgId", ns)
    if not _text(group, "d:OrgnlMsgNmId", ns).startswith("pain.008"):
        raise _refuse(_("The status report is not about a direct-debit file (pain.008)."), "return_file_unsupported")
    returns = []
    for payment in report.iterfind("d:OrgnlPmtInfAndSts", ns):
        transactions = payment.findall("d:TxInfAndSts", ns)
        if _text(payment, "d:PmtInfSts", ns) == "RJCT" and not transactions:
            raise _refuse(
                _("A payment block is rejected without naming its debits; ask the bank for the transaction details."),
                "return_file_unresolved",
            )
        for transaction_status in transactions:
            if _text(transaction_status, "d:TxSts", ns) != "RJCT":
                continue
            amount, currency = _amount(transaction_status.find("d:OrgnlTxRef/d:Amt/d:InstdAmt", ns))
            returns.append(
                BankReturn(
                    end_to_end_id=_text(transaction_status, "d:OrgnlEndToEndId", ns),
                    amount=amount,
                    currency=currency,
                    reason=_reason(transaction_status, ns) or _reason(payment, ns) or _reason(group, ns),
                    original_message_id=original_id,
                )
            )
    if not returns and _text(group, "d:GrpSts", ns) == "RJCT":
        debits = Collection.objects.filter(batch__message_id=original_id).values_list("end_to_end_id", flat=True)
        returns = [
            BankReturn(
                end_to_end_id=e2e, amount=None, currency="", reason=_reason(group, ns), original_message_id=original_id
            )
            for e2e in debits
        ]
        if not returns:
            raise _refuse(_("The rejected file is not one the portal sent."), "return_batch_unknown")
    return _text(report, "d:GrpHdr/d:MsgId", ns), returns


def _camt054_returns(*, root: Element, ns: dict[str, str]) -> tuple[str, list[BankReturn]]:
    """Debit entries on the creditor account that carry return information."""
    notification = root.find("d:BkToCstmrDbtCdtNtfctn", ns)
    returns = []
    for account_notice in notification.iterfind("d:Ntfctn", ns):
        account_iban = _text(account_notice, "d:Acct/d:Id/d:IBAN", ns)
        for entry in account_notice.iterfind("d:Ntry", ns):
            details = entry.findall("d:NtryDtls/d:TxDtls", ns)
            for transaction_details in details:
                return_information = transaction_details.find("d:RtrInf", ns)
                if return_information is None:
                    continue
                if account_iban != settings.LEASING_SEPA_CREDITOR_IBAN:
                    raise _refuse(
                        _("The notification is for another account than the lessor's."), "return_account_mismatch"
                    )
                if _text(entry, "d:CdtDbtInd", ns) != "DBIT":
                    raise _refuse(_("A return must be a debit entry on the lessor's account."), "return_file_invalid")
                amount_node = _first(
                    transaction_details.find("d:AmtDtls/d:InstdAmt/d:Amt", ns),
                    transaction_details.find("d:AmtDtls/d:TxAmt/d:Amt", ns),
                    entry.find("d:Amt", ns) if len(details) == 1 else None,
                )
                amount, currency = _amount(amount_node)
                reason = _text(return_information, "d:Rsn/d:Cd", ns) or _text(return_information, "d:Rsn/d:Prtry", ns)
                returns.append(
                    BankReturn(
                        end_to_end_id=_text(transaction_details, "d:Refs/d:EndToEndId", ns),
                        amount=amount,
                        currency=currency,
                        reason=reason,
                    )
                )
    return _text(notification, "d:GrpHdr/d:MsgId", ns), returns


def _debits_matched(*, bank_file: BankReturnFile) -> list[tuple[Collection, str]]:
    """The collection of every return, each checked; raises naming the first that does not match."""
    matched = []
    for position, item in enumerate(bank_file.returns, start=1):
        collection = (
            Collection.objects.select_related("contract", "batch")
            .filter(end_to_end_id=item.end_to_end_id, method=CollectionMethod.SEPA_DIRECT_DEBIT)
            .first()
            if item.end_to_end_id
            else None
        )
        label = {"position": position, "id": item.end_to_end_id or "-"}
        if collection is None:
            raise _refuse(_("Debit %(position)s (%(id)s) is not one the portal sent.") % label, "return_unknown_debit")
        if item.original_message_id and collection.batch.message_id != item.original_message_id:
            raise _refuse(_("Debit %(position)s (%(id)s) was sent in another file.") % label, "return_batch_mismatch")
        if item.amount is not None or item.currency:
            currency = collection.contract.currency
            if item.currency != currency or Money(collection.amount, currency).to_decimal() != item.amount:
                raise _refuse(
                    _("Debit %(position)s (%(id)s): the amount differs from the debit.") % label,
                    "return_amount_mismatch",
                )
        if not item.reason:
            raise _refuse(_("Debit %(position)s (%(id)s) gives no reason code.") % label, "return_reason_missing")
        matched.append((collection, item.reason[:10]))
    return matched


@transaction.atomic
def returned_debits_import(*, content: bytes, file_name: str, imported_by: object) -> ReturnedDebitImport:
    """Books every reject or return of a bank file once; a bad file, or the same file or bank message again, is
    refused whole with a named code and books nothing."""
    bank_file = bank_file_read(content=content)
    matched = _debits_matched(bank_file=bank_file)
    source = ReturnSource.REJECT if bank_file.message_type == PAIN_002 else ReturnSource.RETURN
    try:
        with transaction.atomic():
            record = ReturnedDebitImport.objects.create(
                file_sha256=hashlib.sha256(content).hexdigest(),
                file_name=file_name[:200],
                message_type=source,
                message_id=bank_file.message_id,
                imported_by=imported_by,
            )
    except IntegrityError:
        raise _refuse(_("This file or bank message was imported already."), "return_file_duplicate") from None
    record.rows_booked = sum(
        collection_return_book(collection_id=collection.pk, reason=reason, source=source, record=record)
        for collection, reason in matched
    )
    record.save(update_fields=["rows_booked"])
    return record


def collection_return_book(*, collection_id: int, reason: str, source: str, record: ReturnedDebitImport) -> bool:
    """Books one rejected or returned direct debit; False when it was booked before."""
    collection = (
        Collection.objects.select_for_update().select_related("contract", "schedule_item").get(pk=collection_id)
    )
    if collection.status != CollectionStatus.SUBMITTED:
        return False
    contract, item = collection.contract, collection.schedule_item
    currency = contract.currency
    clearing = ledger.book_account_id(purpose=Purpose.LEASE_SEPA_CLEARING, currency=currency)
    ledger.posting_book(
        event=f"return:{collection.pk}",
        currency=currency,
        legs=[
            ledger.Leg(
                "payment",
                contract.receivable_account_id,
                clearing,
                item.amount - item.services,
                TransferCode.LEASE_DIRECT_DEBIT_RETURN,
            ),
            ledger.Leg(
                "services",
                ledger.book_account_id(purpose=Purpose.LEASE_SERVICE_REVENUE, currency=currency),
                clearing,
                item.services,
                TransferCode.LEASE_DIRECT_DEBIT_RETURN,
            ),
        ],
    )
    now = timezone.now()
    Collection.objects.filter(pk=collection.pk).update(
        status=CollectionStatus.RETURNED,
        returned_at=now,
        return_reason=reason,
        return_source=source,
        return_import=record,
    )
    ScheduleItem.objects.filter(pk=item.pk).update(status=ScheduleItemStatus.DUE, paid_at=None)
    if contract.status == ContractStatus.ACTIVE and item.due_date <= timezone.localdate():
        type(contract).objects.filter(pk=contract.pk).update(status=ContractStatus.IN_ARREARS, updated_at=now)
    ContractEvent.objects.create(
        contract=contract, kind="debit_returned", detail=f"{collection.end_to_end_id} {source} {reason}"
    )
    direct_debit_returned_notify(collection=collection, contract=contract)
    return True
