"""Reading ISO 20022 CAMT.053 bank-to-customer statements (any camt.053.001.xx version) with defusedxml.

Only what matching needs is read: the message and statement ids, and for each credit entry its amount and currency,
booking date, the bank's unique reference, and the structured creditor reference (falling back to an RF reference
found in the unstructured remittance text). Names and accounts of payers are not read.

A file is accepted whole or refused whole, before anything is booked, with one named reason: `camt_too_large`,
`camt_malformed` (not XML, not a statement, an entry without direction, reference or readable date),
`camt_amount_invalid` (an amount that is not a positive decimal of at most 18 digits with no more decimals than its
currency has), `camt_reference_invalid` (a bank reference longer than the 64 characters kept) and
`camt_duplicate_entry` (two entries of the file with one bank reference).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext

from core.errors import ValidationFailed
from core.money import CURRENCY_EXPONENTS, Money
from payments.codes.epc import rf_reference_is_valid

_RF_IN_TEXT = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")
# ISO 20022 ActiveOrHistoricCurrencyAndAmount: a decimal >= 0 with at most 18 digits, 5 of them after the point (the
# schema has no sign, no exponent, no spaces). 18 digits of minor units always fit the database's 64-bit integer.
_AMOUNT_TEXT = re.compile(r"^(?P<whole>[0-9]{1,18})(?:\.(?P<fraction>[0-9]{1,5}))?$")
MAX_STATEMENT_BYTES = 2 * 1024 * 1024
MAX_REFERENCE_LENGTH = 64
MAX_AMOUNT_MINOR = 10**18


class CamtError(ValidationFailed):
    """A file that is not an acceptable CAMT.053 statement; `code` names the reason (see the module docstring)."""


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
    except (ParseError, DefusedXmlException, ValueError, LookupError):
        # LookupError: an XML declaration naming an encoding Python does not know.
        raise CamtError("The file is not readable XML.", code="camt_malformed") from None
    statement_root = _child(root, "BkToCstmrStmt")
    statement = _child(statement_root, "Stmt") if statement_root is not None else None
    if statement_root is None or statement is None:
        raise CamtError("The file is not a CAMT.053 statement.", code="camt_malformed")
    entries = _entries(statement)
    return CamtStatement(
        message_id=_text(statement_root, "GrpHdr", "MsgId")[:35],
        statement_id=_text(statement, "Id")[:35],
        entries=entries,
    )


def _entries(statement: Element) -> tuple[CamtEntry, ...]:
    """Every booked credit of the statement; checks every entry first, so one bad entry refuses the whole file."""
    entries: list[CamtEntry] = []
    seen: set[str] = set()
    for number, element in enumerate((e for e in statement if _local(e.tag) == "Ntry"), start=1):
        entry = _entry(element, number=number)
        if entry is None:
            continue
        if entry.entry_reference in seen:
            raise CamtError(
                gettext("Entry %(number)s repeats the bank reference of an earlier entry of this file.")
                % {"number": number},
                code="camt_duplicate_entry",
            )
        seen.add(entry.entry_reference)
        entries.append(entry)
    return tuple(entries)


def _amount(element: Element, *, number: int) -> Money:
    """The entry's amount as positive money, exactly as written; anything else refuses the file."""
    amount_element = _child(element, "Amt")
    if amount_element is None:
        raise CamtError(gettext("Entry %(number)s has no amount.") % {"number": number}, code="camt_malformed")
    text = (amount_element.text or "").strip()
    match = _AMOUNT_TEXT.match(text)
    exponent = CURRENCY_EXPONENTS.get(amount_element.get("Ccy", ""))
    fraction = (match.group("fraction") or "") if match else ""
    if match is None or exponent is None or len(fraction.rstrip("0")) > exponent:
        raise CamtError(
            gettext("Entry %(number)s has an amount that is not a positive sum in a known currency: %(amount)s.")
            % {"number": number, "amount": repr(text[:40])},
            code="camt_amount_invalid",
        )
    amount = Money.from_decimal(Decimal(text), amount_element.get("Ccy", ""))  # exact: no digit is rounded away
    if amount.amount <= 0:
        raise CamtError(
            gettext("Entry %(number)s has an amount of zero.") % {"number": number}, code="camt_amount_invalid"
        )
    if amount.amount >= MAX_AMOUNT_MINOR:
        raise CamtError(
            gettext("Entry %(number)s has an amount of more than 18 digits.") % {"number": number},
            code="camt_amount_invalid",
        )
    return amount


def _entry(element: Element, *, number: int) -> CamtEntry | None:
    """A booked credit entry, or None for debits and entries that are not booked (whose amounts are checked too)."""
    direction = _text(element, "CdtDbtInd")
    if direction not in ("CRDT", "DBIT"):
        raise CamtError(
            gettext("Entry %(number)s is neither a credit nor a debit.") % {"number": number}, code="camt_malformed"
        )
    amount = _amount(element, number=number)
    status = _text(element, "Sts") or _text(element, "Sts", "Cd")
    if direction != "CRDT" or status not in ("BOOK", ""):
        return None
    reference = _text(element, "AcctSvcrRef") or _text(element, "NtryRef")
    if not reference:
        raise CamtError(gettext("Entry %(number)s has no bank reference.") % {"number": number}, code="camt_malformed")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise CamtError(
            gettext("Entry %(number)s has a bank reference longer than %(limit)s characters.")
            % {"number": number, "limit": MAX_REFERENCE_LENGTH},
            code="camt_reference_invalid",
        )
    booked = _text(element, "BookgDt", "Dt") or _text(element, "BookgDt", "DtTm")[:10]
    try:
        booking_date = datetime.date.fromisoformat(booked) if booked else None
    except ValueError:
        raise CamtError(
            gettext("Entry %(number)s has an unreadable booking date.") % {"number": number}, code="camt_malformed"
        ) from None
    return CamtEntry(
        entry_reference=reference,
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
