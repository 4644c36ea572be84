"""Turns quotes and contracts into what people read: PDF documents and the SVG chart of the balance over time."""

from __future__ import annotations

from collections.abc import Sequence

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


def quote_facts(*, quote: Quote) -> list[tuple[str, str]]:
    """The disclosed figures of a quote, in the order the standard information sheet uses."""
    currency = quote.currency
    services = ", ".join(package.name for package in quote.service_packages.all()) or "none"
    return [
        ("Product", quote.product.name),
        ("Vehicle price", _money(quote.price, currency)),
        ("Down payment", _money(quote.down_payment, currency)),
        ("Amount financed", _money(quote.financed_amount, currency)),
        ("Term", f"{quote.term_months} months"),
        ("Yearly mileage", f"{quote.yearly_km:,} km" if quote.yearly_km else "—"),
        ("Residual value", _money(quote.residual_value, currency)),
        ("Payments", quote.get_timing_display()),
        ("Borrowing rate (fixed, nominal)", f"{quote.nominal_rate_percent.normalize():f} % per year"),
        ("Monthly instalment", _money(quote.monthly_instalment, currency)),
        ("Service packages", f"{services} ({_money(quote.monthly_services, currency)} per month)"),
        ("Monthly total", _money(quote.monthly_total, currency)),
        ("Arrangement fee", _money(quote.arrangement_fee, currency)),
        ("Total interest", _money(quote.total_interest, currency)),
        ("Total cost of credit", _money(quote.total_cost_of_credit, currency)),
        ("Total amount payable", _money(quote.total_amount_payable, currency)),
        ("APRC", f"{quote.aprc_percent} %"),
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
        ("Contract number", contract.number),
        ("Product", f"{contract.product.name} ({contract.get_kind_display()})"),
        ("Customer reference", f"customer {contract.customer_id}"),
        ("Vehicle price", _money(contract.price, currency)),
        ("Down payment", _money(contract.down_payment, currency)),
        ("Amount financed", _money(contract.financed_amount, currency)),
        ("Residual value", _money(contract.residual_value, currency)),
        ("Term", f"{contract.term_months} months from {contract.start_date.isoformat()}"),
        ("Yearly mileage", f"{contract.yearly_km:,} km" if contract.yearly_km else "—"),
        ("Borrowing rate (fixed, nominal)", f"{contract.nominal_rate_percent.normalize():f} % per year"),
        ("Arrangement fee", _money(contract.arrangement_fee, currency)),
        ("Service packages per month", _money(contract.monthly_services, currency)),
        ("APRC", f"{contract.aprc_percent} %"),
    ]


def contract_clauses(*, contract: Contract) -> Sequence[str]:
    product = contract.product
    clauses = [
        "Instalments fall due monthly as in the schedule below and are collected from the customer's portal balance "
        "or by SEPA direct debit under the customer's mandate.",
        "Late payment: a late fee may be charged per overdue instalment and reminders are sent.",
        "The customer may settle the contract early at any time at the payoff amount quoted on request.",
    ]
    if product.is_mileage_lease:
        clauses.append(
            f"Mileage: at the end of the term each kilometre over the agreed mileage costs "
            f"{_money(product.excess_km_rate, contract.currency)}, each kilometre under is refunded at "
            f"{_money(product.unused_km_rate, contract.currency)}, with a {product.get_tolerance_kind_display().lower()} "
            f"of {product.tolerance_km:,} km. The lessor bears the residual value risk."
        )
    elif contract.kind == "residual_value_lease":
        clauses.append(
            "The lessee guarantees the residual value: a shortfall of the sale proceeds is owed by the "
            "lessee, a surplus is refunded. The lessee may buy the vehicle at the residual value."
        )
    else:
        clauses.append("The final (balloon) payment, if any, falls due with the end of the term.")
    return clauses


def contract_pdf_render(*, contract: Contract, schedule: Schedule) -> bytes:
    return documents.contract_pdf(
        number=contract.number,
        facts=contract_facts(contract=contract),
        clauses=contract_clauses(contract=contract),
        lines=schedule_lines(schedule=schedule, monthly_services=contract.monthly_services),
        currency=contract.currency,
    )
