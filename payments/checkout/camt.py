"""Reading ISO 20022 CAMT.053 bank-to-customer statements (any camt.053.001.xx version) with defusedxml.

Only what matching needs is read: the message and statement ids, and for each credit entry its amount and currency,
booking date, the bank's unique reference, and the structured creditor reference (falling back to an RF reference
found in the unstructured remittance text). Names and accounts of payers are not read.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from payments.codes.epc import rf_reference_is_valid
from portal.errors import ValidationFailed
from portal.money import Money, MoneyError

_RF_IN_TEXT = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")
MAX_STATEMENT_BYTES = 2 * 1024 * 1024


class CamtError(ValidationFailed):
    """A file that is not a readable CAMT.053 statement: `camt_malformed`, `camt_too_large`."""


@dataclass(frozen=True, slots=True)
class CamtEntry:
    """One booked credit: `amount` in minor units; `entry_reference` the bank's unique id of the entry."""

    entry_reference: str
    amount: Money
    booking_date: datetime.date | None
    creditor_reference: str


@dataclass(frozen=True, slots=True)
class CamtStatement:
    message_id: str
    statement_id: str
    entries: tuple[CamtEntry, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, *path: str) -> Element | None:
    """The first descendant following `path` of local names, whatever the namespace version."""
    current: Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((child for child in current if _local(child.tag) == name), None)
    return current


def _text(element: Element, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def camt053_parse(*, data: bytes) -> CamtStatement:
    """Parses a CAMT.053 file; raises `CamtError` for oversized, malformed or hostile (entity expansion) XML."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise CamtError("The statement file is larger than 2 MB.", code="camt_too_large")
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise CamtError("The file is not readable XML.", code="camt_malformed") from None
    statement_root = _child(root, "BkToCstmrStmt")
    statement = _child(statement_root, "Stmt") if statement_root is not None else None
    if statement_root is None or statement is None:
        raise CamtError("The file is not a CAMT.053 statement.", code="camt_malformed")
    entries = tuple(
        entry
        for element in statement
        if _local(element.tag) == "Ntry"
        for entry in [_entry(element)]
        if entry is not None
    )
    return CamtStatement(
        message_id=_text(statement_root, "GrpHdr", "MsgId")[:35],
        statement_id=_text(statement, "Id")[:35],
        entries=entries,
    )


def _entry(element: Element) -> CamtEntry | None:
    """A credit entry, or None for debits and entries that are not booked."""
    if _text(element, "CdtDbtInd") != "CRDT":
        return None
    status = _text(element, "Sts") or _text(element, "Sts", "Cd")
    if status not in ("BOOK", ""):
        return None
    amount_element = _child(element, "Amt")
    if amount_element is None:
        raise CamtError("An entry has no amount.", code="camt_malformed")
    try:
        amount = Money.from_decimal(Decimal((amount_element.text or "").strip()), amount_element.get("Ccy", ""))
    except (InvalidOperation, MoneyError):
        raise CamtError("An entry has an unreadable amount.", code="camt_malformed") from None
    reference = _text(element, "AcctSvcrRef") or _text(element, "NtryRef")
    if not reference:
        raise CamtError("An entry has no bank reference.", code="camt_malformed")
    booked = _text(element, "BookgDt", "Dt") or _text(element, "BookgDt", "DtTm")[:10]
    try:
        booking_date = datetime.date.fromisoformat(booked) if booked else None
    except ValueError:
        raise CamtError("An entry has an unreadable booking date.", code="camt_malformed") from None
    return CamtEntry(
        entry_reference=reference[:64],
        amount=amount,
        booking_date=booking_date,
        creditor_reference=_creditor_reference(element),
    )


def _creditor_reference(entry: Element) -> str:
    transaction = _child(entry, "NtryDtls", "TxDtls")
    if transaction is None:
        return ""
    structured = _text(transaction, "RmtInf", "Strd", "CdtrRefInf", "Ref").replace(" ", "").upper()
    if structured:
        return structured[:35]
    unstructured = _text(transaction, "RmtInf", "Ustrd").replace(" ", "").upper()
    match = next((m.group(0) for m in _RF_IN_TEXT.finditer(unstructured) if rf_reference_is_valid(m.group(0))), "")
    return match
