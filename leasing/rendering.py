"""Turns quotes and contracts into what people read: PDF documents and the SVG chart of the balance over time."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.locale_format import format_day, format_decimal
from core.money import Money
from leasing import documents
from leasing.calculations.schedule import Schedule, schedule_build
from leasing.charts import balance_chart_svg
from leasing.models import Contract, Quote
from leasing.services.quotes import quote_terms


def schedule_lines(*, schedule: Schedule, monthly_services: int) -> list[documents.ScheduleLine]:
    return [
        documents.ScheduleLine(
            number=row.number,
            due_date=row.due_date,
            amount=row.amount.amount + monthly_services,
            interest=row.interest.amount,
            principal=row.principal.amount,
            services=monthly_services,
            balance_after=row.balance_after.amount,
        )
        for row in schedule.instalments
    ]


def _money(amount: int, currency: str) -> str:
    return Money(amount, currency).format()


def _months(count: int) -> str:
    return ngettext("%(count)s month", "%(count)s months", count) % {"count": count}


def _km(distance: int | None) -> str:
    return f"{format_decimal(distance, places=0)} km" if distance else "—"


def _percent(value: Decimal) -> str:
    return f"{format_decimal(value, places=max(0, -value.normalize().as_tuple().exponent))} %"


def _percent_per_year(value: Decimal) -> str:
    return _("%(rate)s per year") % {"rate": _percent(value)}


def quote_facts(*, quote: Quote) -> list[tuple[str, str]]:
    """The disclosed figures of a quote, in the order the standard information sheet uses."""
    currency = quote.currency
    services = ", ".join(package.name for package in quote.service_packages.all()) or _("none")
    return [
        (_("Product"), quote.product.name),
        (_("Vehicle price"), _money(quote.price, currency)),
        (_("Down payment"), _money(quote.down_payment, currency)),
        (_("Amount financed"), _money(quote.financed_amount, currency)),
        (_("Term"), _months(quote.term_months)),
        (_("Yearly mileage"), _km(quote.yearly_km)),
        (_("Residual value"), _money(quote.residual_value, currency)),
        (_("Payments"), quote.get_timing_display()),
        (_("Borrowing rate (fixed, nominal)"), _percent_per_year(quote.nominal_rate_percent)),
        (_("Monthly instalment"), _money(quote.monthly_instalment, currency)),
        (
            _("Service packages"),
            _("%(services)s (%(amount)s per month)")
            % {"services": services, "amount": _money(quote.monthly_services, currency)},
        ),
        (_("Monthly total"), _money(quote.monthly_total, currency)),
        (_("Arrangement fee"), _money(quote.arrangement_fee, currency)),
        (_("Total interest"), _money(quote.total_interest, currency)),
        (_("Total cost of credit"), _money(quote.total_cost_of_credit, currency)),
        (_("Total amount payable"), _money(quote.total_amount_payable, currency)),
        (_("APRC"), _percent(quote.aprc_percent)),
    ]


def quote_schedule(*, quote: Quote) -> Schedule:
    return schedule_build(terms=quote_terms(quote=quote))


def quote_pdf_render(*, quote: Quote) -> bytes:
    schedule = quote_schedule(quote=quote)
    return documents.quote_pdf(
        reference=str(quote.public_id),
        facts=quote_facts(quote=quote),
        lines=schedule_lines(schedule=schedule, monthly_services=quote.monthly_services),
        currency=quote.currency,
    )


def quote_chart_svg(*, quote: Quote) -> str:
    return balance_chart_svg(schedule=quote_schedule(quote=quote))


def contract_facts(*, contract: Contract) -> list[tuple[str, str]]:
    currency = contract.currency
    return [
        (_("Contract number"), contract.number),
        (_("Product"), f"{contract.product.name} ({contract.get_kind_display()})"),
        (_("Customer"), contract.customer.email),
        (_("Vehicle price"), _money(contract.price, currency)),
        (_("Down payment"), _money(contract.down_payment, currency)),
        (_("Amount financed"), _money(contract.financed_amount, currency)),
        (_("Residual value"), _money(contract.residual_value, currency)),
        (
            _("Term"),
            _("%(term)s from %(start)s")
            % {"term": _months(contract.term_months), "start": format_day(contract.start_date)},
        ),
        (_("Yearly mileage"), _km(contract.yearly_km)),
        (_("Borrowing rate (fixed, nominal)"), _percent_per_year(contract.nominal_rate_percent)),
        (_("Arrangement fee"), _money(contract.arrangement_fee, currency)),
        (_("Service packages per month"), _money(contract.monthly_services, currency)),
        (_("APRC"), _percent(contract.aprc_percent)),
    ]


def contract_clauses(*, contract: Contract) -> Sequence[str]:
    product = contract.product
    clauses = [
        _(
            "Instalments fall due monthly as in the schedule below and are collected from the customer's portal "
            "balance or by SEPA direct debit under the customer's mandate."
        ),
        _("Late payment: a late fee may be charged per overdue instalment and reminders are sent."),
        _("The customer may settle the contract early at any time at the payoff amount quoted on request."),
    ]
    if product.is_mileage_lease:
        clauses.append(
            _(
                "Mileage: at the end of the term each kilometre over the agreed mileage costs %(excess)s, each "
                "kilometre under is refunded at %(unused)s, with a tolerance (%(kind)s) of %(tolerance)s. The lessor "
                "bears the residual value risk."
            )
            % {
                "excess": _money(product.excess_km_rate, contract.currency),
                "unused": _money(product.unused_km_rate, contract.currency),
                "kind": product.get_tolerance_kind_display(),
                "tolerance": _km(product.tolerance_km),
            }
        )
    elif contract.kind == "residual_value_lease":
        clauses.append(
            _(
                "The lessee guarantees the residual value: a shortfall of the sale proceeds is owed by the "
                "lessee, a surplus is refunded. The lessee may buy the vehicle at the residual value."
            )
        )
    else:
        clauses.append(_("The final (balloon) payment, if any, falls due with the end of the term."))
    return clauses


def contract_pdf_render(*, contract: Contract, schedule: Schedule) -> bytes:
    """The contract in the customer's language (their choice in the portal, else English): the document they accept,
    so its words and figures must be theirs, whoever in the back office pressed the button that wrote it."""
    with translation.override(contract.customer.correspondence_language):
        return _contract_pdf(contract=contract, schedule=schedule)


def _contract_pdf(*, contract: Contract, schedule: Schedule) -> bytes:
    return documents.contract_pdf(
        number=contract.number,
        facts=contract_facts(contract=contract),
        clauses=contract_clauses(contract=contract),
        lines=schedule_lines(schedule=schedule, monthly_services=contract.monthly_services),
        currency=contract.currency,
    )
