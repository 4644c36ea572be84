"""PDF documents of the lease book (reportlab, pure Python): quote, contract with its schedule, dunning letter.

Documents are rendered `invariant` (no creation timestamp or random document id inside), so the same contract
always yields the same bytes and its SHA-256 identifies exactly what the customer accepted.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.locale_format import format_day
from core.money import Money

_STYLES = getSampleStyleSheet()
_TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.whitesmoke]),
    ]
)


@dataclass(frozen=True)
class ScheduleLine:
    """One printed schedule row; amounts in minor units."""

    number: int
    due_date: datetime.date
    amount: int
    interest: int
    principal: int
    services: int
    balance_after: int


def _render(*, title: str, flowables: list) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="FinLab Financial Services",
        invariant=1,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    document.build(flowables)
    return buffer.getvalue()


def _facts_table(facts: Iterable[tuple[str, str]]) -> Table:
    table = Table([[label, value] for label, value in facts], colWidths=[70 * mm, 90 * mm])
    table.setStyle(
        TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 9), ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9)])
    )
    return table


def _schedule_table(*, lines: Sequence[ScheduleLine], currency: str) -> Table:
    def money(amount: int) -> str:
        return Money(amount, currency).format()

    rows = [["#", _("Due"), _("Amount"), _("Interest"), _("Principal"), _("Services"), _("Balance after")]]
    rows += [
        [
            str(line.number),
            format_day(line.due_date),
            money(line.amount),
            money(line.interest),
            money(line.principal),
            money(line.services),
            money(line.balance_after),
        ]
        for line in lines
    ]
    table = Table(rows, repeatRows=1)
    table.setStyle(_TABLE_STYLE)
    return table


def quote_pdf(
    *, reference: str, facts: Sequence[tuple[str, str]], lines: Sequence[ScheduleLine], currency: str
) -> bytes:
    """A printable quote: the key figures (APRC, instalment, total cost) and the full schedule."""
    flowables = [
        Paragraph(_("FinLab Financial Services — Quote"), _STYLES["Title"]),
        Paragraph(
            _("Quote reference %(reference)s. This quote is not an offer of credit.") % {"reference": reference},
            _STYLES["Normal"],
        ),
        Spacer(1, 6 * mm),
        _facts_table(facts),
        Spacer(1, 6 * mm),
        Paragraph(_("Repayment schedule"), _STYLES["Heading2"]),
        _schedule_table(lines=lines, currency=currency),
    ]
    return _render(title=_("Quote %(reference)s") % {"reference": reference}, flowables=flowables)


def contract_pdf(
    *,
    number: str,
    facts: Sequence[tuple[str, str]],
    clauses: Sequence[str],
    lines: Sequence[ScheduleLine],
    currency: str,
) -> bytes:
    """The contract document the customer accepts: terms, clauses and the repayment schedule in exact cents."""
    flowables = [
        Paragraph(_("FinLab Financial Services — Contract %(number)s") % {"number": number}, _STYLES["Title"]),
        _facts_table(facts),
        Spacer(1, 5 * mm),
        Paragraph(_("Terms"), _STYLES["Heading2"]),
        *[Paragraph(clause, _STYLES["Normal"]) for clause in clauses],
        Spacer(1, 5 * mm),
        Paragraph(_("Repayment schedule"), _STYLES["Heading2"]),
        _schedule_table(lines=lines, currency=currency),
    ]
    return _render(title=_("Contract %(number)s") % {"number": number}, flowables=flowables)


def dunning_letter_pdf(
    *, number: str, level: int, letter_date: datetime.date, days_past_due: int, amount_overdue: Money
) -> bytes:
    """A payment reminder: how much is overdue, for how long, and what happens next."""
    consequence = {
        1: _("Please pay within 7 days."),
        2: _("Please pay within 7 days; a late fee has been charged."),
    }.get(level, _("If the amount stays unpaid, we may terminate the contract."))
    flowables = [
        Paragraph(_("Payment reminder (level %(level)s)") % {"level": level}, _STYLES["Title"]),
        Paragraph(
            _("Contract %(number)s, %(date)s") % {"number": number, "date": format_day(letter_date)}, _STYLES["Normal"]
        ),
        Spacer(1, 6 * mm),
        Paragraph(
            _("Our records show %(amount)s overdue for %(days)s days.")
            % {"amount": amount_overdue.format(), "days": days_past_due}
            + " "
            + consequence,
            _STYLES["Normal"],
        ),
    ]
    return _render(
        title=_("Reminder %(number)s level %(level)s") % {"number": number, "level": level}, flowables=flowables
    )
