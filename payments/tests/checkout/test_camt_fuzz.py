"""Fuzzing the CAMT.053 import through the back office's upload page: hypothesis builds statements from hostile
entry fields (and mutates the bytes of a good file); every answer is below 500, a refused file names its reason and
books nothing, an accepted one books exactly its new booked credits and keeps the ledger balanced.

Examples are derandomized and bounded, and each one runs inside a savepoint that is rolled back, so the run is the
same every time and no example sees another's rows.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.checkout.services import checkout_order_create
from payments.models import Account, BankStatementEntry, CheckoutOrderStatus, CheckoutProvider
from payments.tests.qr.factories import database_snapshot, product_create

pytestmark = pytest.mark.django_db

IMPORT_URL = "/payments/qr/back-office/bank-statements/"
NAMED_REFUSALS = {
    "camt_malformed",
    "camt_too_large",
    "camt_amount_invalid",
    "camt_reference_invalid",
    "camt_duplicate_entry",
    "statement_already_imported",
}
FUZZ_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXPONENTS = {"EUR": 2, "JPY": 0, "KWD": 3}


@dataclass(frozen=True)
class Field:
    """A piece of generated XML and the refusal it must cause (None: the value is acceptable)."""

    xml: str
    refusal: str | None = None


@dataclass(frozen=True)
class Entry:
    direction: Field
    amount: Field
    booked: bool
    reference: str
    date: Field
    creditor_reference: str

    def xml(self) -> str:
        reference = f"<AcctSvcrRef>{escape(self.reference)}</AcctSvcrRef>" if self.reference else ""
        return (
            f"<Ntry>{self.amount.xml}{self.direction.xml}<Sts>{'BOOK' if self.booked else 'PDNG'}</Sts>"
            f"{self.date.xml}{reference}<NtryDtls><TxDtls><RmtInf><Strd><CdtrRefInf>"
            f"<Ref>{escape(self.creditor_reference)}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )

    @property
    def is_booked_credit(self) -> bool:
        return self.direction.xml == "<CdtDbtInd>CRDT</CdtDbtInd>" and self.booked

    def refusal(self) -> str | None:
        """The refusal this entry causes, in the importer's order of checks."""
        first = self.direction.refusal or self.amount.refusal
        if first or not self.is_booked_credit:
            return first
        if not self.reference:
            return "camt_malformed"
        if len(self.reference) > 64:
            return "camt_reference_invalid"
        return self.date.refusal


def _amount_text(minor: int, exponent: int) -> str:
    if exponent == 0:
        return str(minor)
    return f"{minor // 10**exponent}.{minor % 10**exponent:0{exponent}d}"


@st.composite
def amounts(draw) -> tuple[Field, int | None, str]:
    """(the Amt element, its minor units when valid, its currency)."""
    currency = draw(st.sampled_from([*EXPONENTS, "XXX", "", "eur"]))
    exponent = EXPONENTS.get(currency, 2)
    minor = draw(st.one_of(st.sampled_from([5_000, 1_000]), st.integers(1, 20_000), st.integers(1, 10**18 - 1)))
    good = _amount_text(minor, exponent)
    text = draw(
        st.one_of(
            st.just(good),
            st.just(good + "0" if exponent else good),
            st.sampled_from(
                ["-" + good, "0", "0.00", "-0", "5e1", "NaN", "Infinity", "+5", "", " ", "1.2.3", "abc", "1,00",
                 "50.001", "9" * 19, "99999999999999999.99", "0.000001", "١٢٣"]
            ),
            st.text(alphabet="0123456789.-+eE ", max_size=24),
        )
    )  # fmt: skip
    element = f'<Amt Ccy="{currency}">{escape(text)}</Amt>'
    stripped = text.strip()
    valid = currency in EXPONENTS and _is_exact_positive(stripped, EXPONENTS.get(currency, 0))
    if not valid:
        return Field(element, "camt_amount_invalid"), None, currency
    whole, _, fraction = stripped.partition(".")
    minor_units = int(whole) * 10 ** EXPONENTS[currency] + int((fraction + "0" * 5)[: EXPONENTS[currency]] or 0)
    return Field(element), minor_units, currency


def _is_exact_positive(text: str, exponent: int) -> bool:
    whole, dot, fraction = text.partition(".")
    if not whole.isascii() or not whole.isdigit() or not 1 <= len(whole) <= 18:
        return False
    if dot and (not fraction.isascii() or not fraction.isdigit() or not 1 <= len(fraction) <= 5):
        return False
    if len(fraction.rstrip("0")) > exponent:
        return False
    minor = int(whole) * 10**exponent + int((fraction + "0" * exponent)[:exponent] or 0)
    return 0 < minor < 10**18


directions = st.sampled_from(
    [Field("<CdtDbtInd>CRDT</CdtDbtInd>")] * 4
    + [Field("<CdtDbtInd>DBIT</CdtDbtInd>"), Field("<CdtDbtInd>XXXX</CdtDbtInd>", "camt_malformed"),
       Field("", "camt_malformed")]
)  # fmt: skip
dates = st.one_of(
    st.dates(datetime.date(1900, 1, 1), datetime.date(2100, 12, 31)).map(
        lambda d: Field(f"<BookgDt><Dt>{d.isoformat()}</Dt></BookgDt>")
    ),
    st.just(Field("")),
    st.sampled_from(["2026-02-30", "yesterday", "2026-13-01", "0000-01-01"]).map(
        lambda text: Field(f"<BookgDt><Dt>{text}</Dt></BookgDt>", "camt_malformed")
    ),
)
references = st.one_of(
    st.sampled_from(["BANK-1", "BANK-2", "BANK-3", "", "R" * 64, "R" * 65]),
    st.from_regex(r"[A-Za-z0-9/-]{1,80}", fullmatch=True),
)


@st.composite
def entries(draw, creditor_references: list[str]) -> tuple[Entry, int | None, str]:
    amount, minor, currency = draw(amounts())
    entry = Entry(
        direction=draw(directions),
        amount=amount,
        booked=draw(st.booleans().map(lambda b: b or draw(st.booleans()))),
        reference=draw(references),
        date=draw(dates),
        creditor_reference=draw(st.sampled_from([*creditor_references, "RF18539007547034", "", "NOT-AN-RF"])),
    )
    return entry, minor, currency


def _expected_refusal(generated: list[Entry]) -> str | None:
    """The first reason, entry by entry in file order, that refuses the file (None: it is imported)."""
    seen: set[str] = set()
    for entry in generated:
        if refusal := entry.refusal():
            return refusal
        if entry.is_booked_credit:
            if entry.reference in seen:
                return "camt_duplicate_entry"
            seen.add(entry.reference)
    return None


def statement(entry_xml: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
        "<BkToCstmrStmt><GrpHdr><MsgId>FUZZ</MsgId></GrpHdr><Stmt><Id>FUZZ-1</Id>"
        + "".join(entry_xml)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


@contextlib.contextmanager
def rolled_back():
    """Runs an example inside a savepoint and undoes everything it wrote."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def _post(client, data: bytes):
    response = client.post(IMPORT_URL, {"statement": SimpleUploadedFile("statement.xml", data)})
    assert response.status_code < 500
    return response


def _refusal_code(response) -> str | None:
    """None when the file was imported (redirect to the review queue), else the named reason next to the field."""
    if response.status_code == 302:
        return None
    assert response.status_code == 200
    codes = [error.code for error in response.context["form"].errors.as_data().get("statement", [])]
    assert len(codes) == 1, codes
    return codes[0]


def _ledger_is_balanced() -> bool:
    sums = Account.objects.aggregate(
        dp=Sum("debits_posted"), cp=Sum("credits_posted"), dpe=Sum("debits_pending"), cpe=Sum("credits_pending")
    )
    return sums["dp"] == sums["cp"] and sums["dpe"] == sums["cpe"]


@pytest.fixture
def orders(customer):
    """Two SEPA orders waiting for their transfer: 50.00 EUR and 10.00 EUR."""
    made = []
    for amount in (5_000, 1_000):
        order, _ = checkout_order_create(
            customer=customer, product=product_create(), amount=amount, provider=CheckoutProvider.SEPA_TRANSFER
        )
        made.append(order)
    return made


def test_fuzzed_statements_never_answer_5xx_and_bad_files_book_nothing(back_office, client_for, orders):
    client = client_for(back_office)
    creditor_references = [order.creditor_reference for order in orders]
    outcomes: dict[str, int] = {}

    @FUZZ_SETTINGS
    @given(st.lists(entries(creditor_references), max_size=5))
    def run(generated):
        data = statement([entry.xml() for entry, _, _ in generated])
        expected = _expected_refusal([entry for entry, _, _ in generated])
        with rolled_back():
            before = database_snapshot()
            code = _refusal_code(_post(client, data))
            assert code == expected
            outcomes[code or "imported"] = outcomes.get(code or "imported", 0) + 1
            if code is not None:
                assert database_snapshot() == before
                return
            credits = [(entry, minor, currency) for entry, minor, currency in generated if entry.is_booked_credit]
            rows = {row.entry_reference: row for row in BankStatementEntry.objects.all()}
            assert sorted(rows) == sorted(entry.reference for entry, _, _ in credits)
            for entry, minor, currency in credits:
                assert (rows[entry.reference].amount, rows[entry.reference].currency) == (minor, currency)
            for order in orders:
                order.refresh_from_db()
                paid = [r for r in rows.values() if r.order_id == order.pk and r.status == "matched"]
                assert (order.status == CheckoutOrderStatus.PAID) == bool(paid)
                assert all(r.amount == order.amount and r.currency == order.currency for r in paid)
            assert _ledger_is_balanced()

    run()
    # The generator reaches acceptance as well as every kind of entry refusal.
    assert {"imported", "camt_amount_invalid", "camt_malformed", "camt_reference_invalid"} <= set(outcomes)


def test_mutated_statement_bytes_never_answer_5xx_and_refusals_book_nothing(back_office, client_for, orders):
    client = client_for(back_office)
    good = statement(
        [
            Entry(
                direction=Field("<CdtDbtInd>CRDT</CdtDbtInd>"),
                amount=Field('<Amt Ccy="EUR">50.00</Amt>'),
                booked=True,
                reference="BANK-1",
                date=Field("<BookgDt><Dt>2026-03-02</Dt></BookgDt>"),
                creditor_reference=orders[0].creditor_reference,
            ).xml()
        ]
    )
    mutation = st.tuples(
        st.integers(0, len(good) - 1), st.sampled_from(["flip", "insert", "delete"]), st.binary(min_size=1, max_size=4)
    )

    @FUZZ_SETTINGS
    @given(st.lists(mutation, min_size=1, max_size=4))
    def run(mutations):
        data = bytearray(good)
        for position, kind, chunk in mutations:
            position = min(position, len(data) - 1)
            if kind == "flip":
                data[position] ^= chunk[0] or 1
            elif kind == "insert":
                data[position:position] = chunk
            else:
                del data[position : position + len(chunk)]
        with rolled_back():
            before = database_snapshot()
            code = _refusal_code(_post(client, bytes(data)))
            if code is not None:
                assert code in NAMED_REFUSALS
                assert database_snapshot() == before
            assert _ledger_is_balanced()

    run()
