"""Reads of the lease book that carry a rule: who may see which application, contract or file.

Customers see their own applications and contracts, dealers those their organisation originated, back office all.
`*_get_for_user` raises Http404 both for a missing object and for one the user may not see.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from dataclasses import dataclass

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, Min, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.models import User
from accounts.roles import Role
from core.money import Money
from leasing.models import (
    Application,
    ApplicationStatus,
    Collection,
    CollectionMethod,
    CollectionStatus,
    Contract,
    ContractStatus,
    CreditVerdictRefusal,
    CreditVerdictRefusalReason,
    DirectDebitBatch,
    IdentityCheck,
    LeaseProduct,
    Quote,
    ScheduleItem,
    ScheduleItemKind,
    ScheduleItemStatus,
)
from leasing.sepa_reasons import return_reason_text
from leasing.services.arrears import Bucket, bucket_for, days_past_due, delinquency_buckets, overdue_schedule_items
from payments.ledger.registry import Purpose, TransferCode
from payments.statements import Statement, dealer_purpose_statement


def product_list_active() -> QuerySet[LeaseProduct]:
    return LeaseProduct.objects.filter(is_active=True).prefetch_related("mileage_bands", "service_packages")


def product_list() -> QuerySet[LeaseProduct]:
    return LeaseProduct.objects.prefetch_related("mileage_bands", "service_packages").order_by("name")


def quote_get_public(*, public_id: uuid.UUID) -> Quote:
    """A quote by its unguessable public id (the link is the capability; quotes hold no personal data)."""
    return get_object_or_404(
        Quote.objects.select_related("product").prefetch_related("service_packages"), public_id=public_id
    )


def _scope(queryset: QuerySet, *, user: User) -> QuerySet:
    role = user.role
    if role == Role.BACK_OFFICE:
        return queryset
    if role == Role.DEALER:
        if user.dealer_organisation_id is None:
            return queryset.none()
        return queryset.filter(dealer_organisation_id=user.dealer_organisation_id)
    if role == Role.CUSTOMER:
        return queryset.filter(customer=user)
    return queryset.none()


def application_list_for_user(*, user: User, status: str | None = None) -> QuerySet[Application]:
    queryset = _scope(Application.objects.select_related("quote__product", "credit_check"), user=user)
    return queryset.filter(status=status) if status else queryset


def application_search_for_user(*, user: User, query: str = "", status: str = "") -> QuerySet[Application]:
    """The applications ``user`` may see, newest first, narrowed by ``query`` (an application number, the application's
    reference or its first characters, or the customer's e-mail address or part of it) and ``status``.

    Each row carries ``is_applicant_under_18``: still undecided, but a wallet showed that the customer is not over 18,
    so it can only be declined."""
    under_18 = IdentityCheck.objects.filter(application=OuterRef("pk"), status="verified", is_over_18=False)
    undecided = Q(status__in=[ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING])
    queryset = (
        application_list_for_user(user=user, status=status or None)
        .select_related("customer")
        .annotate(is_applicant_under_18=ExpressionWrapper(undecided & Exists(under_18), output_field=BooleanField()))
    )
    query = query.strip()
    if query:
        matches = Q(customer__email__icontains=query)
        if query.isdigit() and len(query) < 12:
            matches |= Q(pk=int(query))
        compact = query.replace("-", "").lower()
        if 4 <= len(compact) <= 32 and all(character in "0123456789abcdef" for character in compact):
            matches |= Q(reference__startswith=_uuid_prefix(compact))
        queryset = queryset.filter(matches)
    return queryset.order_by("-created_at", "-pk")


def _uuid_prefix(compact: str) -> str:
    """The first hex digits of a UUID written with its hyphens (after 8, 12, 16 and 20 digits): PostgreSQL compares a
    UUID column as that text, SQLite strips the hyphens from both sides, so this form matches on both."""
    cuts = [0, 8, 12, 16, 20, 32]
    parts = [compact[start:end] for start, end in itertools.pairwise(cuts) if compact[start:end]]
    return "-".join(parts)


def contract_search_for_user(*, user: User, query: str = "", status: str = "") -> QuerySet[Contract]:
    """The contracts ``user`` may see, newest first, narrowed by contract number or customer e-mail and status."""
    queryset = contract_list_for_user(user=user).select_related("customer")
    if status:
        queryset = queryset.filter(status=status)
    query = query.strip()
    if query:
        queryset = queryset.filter(Q(number__iexact=query) | Q(customer__email__icontains=query))
    return queryset.order_by("-created_at", "-pk")


def customer_ids_for_reference(*, reference: str) -> list[int]:
    """The customers an application number, application reference (or its first 8+ characters) or contract number
    belongs to: back office's customer search."""
    reference = reference.strip()
    compact = reference.replace("-", "").lower()
    matches = Q(pk=int(reference)) if reference.isdigit() and len(reference) < 12 else Q(pk__in=[])
    if 8 <= len(compact) <= 32 and all(character in "0123456789abcdef" for character in compact):
        matches |= Q(reference__startswith=_uuid_prefix(compact))
    applications = Application.objects.filter(matches).values_list("customer_id", flat=True)
    contracts = Contract.objects.filter(number__iexact=reference).values_list("customer_id", flat=True)
    return sorted(set(applications) | set(contracts))


def application_get_for_user(*, user: User, application_id: int) -> Application:
    application = application_list_for_user(user=user).prefetch_related("approvals").filter(pk=application_id).first()
    if application is None:
        raise Http404("No such application.")
    return application


def application_customer_id_for_dealer(*, application_id: int, dealer_organisation_id: int) -> int | None:
    """The customer of an application of this dealer organisation that still waits for its credit check (whom a
    dealer's credit-check request for it is told to); None for another organisation's or a decided application."""
    return (
        Application.objects.filter(
            pk=application_id,
            dealer_organisation_id=dealer_organisation_id,
            status=ApplicationStatus.CREDIT_CHECK_PENDING,
        )
        .values_list("customer_id", flat=True)
        .first()
    )


@dataclass(frozen=True)
class CreditVerdictRefusalLine:
    """A refused credit-check verdict in words, for the application page: which request, why, what it covered."""

    reference: str
    reason: str
    explanation: str
    refused_at: datetime.datetime


def _months(count: int) -> str:
    return ngettext("%(count)s month", "%(count)s months", count) % {"count": count}


def _purpose_name(purpose: str) -> str:
    return gettext("financing") if purpose == "financing" else gettext("a lease")


def credit_verdict_refusals_for_application(*, application: Application) -> list[CreditVerdictRefusalLine]:
    """The credit-check verdicts refused for ``application``, oldest first, with the terms they were given for next
    to the application's own (money in euros, never minor units)."""
    quote = application.quote
    needed = gettext("The application needs %(amount)s a month over %(term)s.") % {
        "amount": Money(quote.monthly_total, application.currency).format(),
        "term": _months(quote.term_months),
    }
    lines = []
    for refusal in CreditVerdictRefusal.objects.filter(application=application).order_by("created_at", "id"):
        covered = gettext("It was given for %(purpose)s of %(amount)s a month over %(term)s.") % {
            "purpose": _purpose_name(refusal.checked_purpose),
            "amount": Money(refusal.checked_amount, refusal.checked_currency).format(),
            "term": _months(refusal.checked_term_months),
        }
        lines.append(
            CreditVerdictRefusalLine(
                reference=refusal.external_reference,
                reason=str(CreditVerdictRefusalReason(refusal.reason).label),
                explanation=f"{covered} {needed}",
                refused_at=refusal.created_at,
            )
        )
    return lines


def contract_list_for_user(*, user: User) -> QuerySet[Contract]:
    return _scope(Contract.objects.select_related("product", "application"), user=user)


def contract_get_for_user(*, user: User, contract_id: int) -> Contract:
    contract = contract_list_for_user(user=user).filter(pk=contract_id).first()
    if contract is None:
        raise Http404("No such contract.")
    return contract


def contract_schedule_items(*, contract: Contract) -> QuerySet[ScheduleItem]:
    return contract.schedule_items.order_by("due_date", "schedule_version", "number")


def direct_debit_batch_list() -> QuerySet[DirectDebitBatch]:
    return DirectDebitBatch.objects.all()


def direct_debit_batch_get(*, batch_id: int) -> DirectDebitBatch:
    return get_object_or_404(DirectDebitBatch, pk=batch_id)


@dataclass(frozen=True)
class ReturnedDebitLine:
    """A rejected or returned debit as staff see it: the ISO reason code kept, and its words."""

    collection: Collection
    reason_text: str


def returned_debit_list(*, limit: int = 50) -> list[ReturnedDebitLine]:
    """The latest rejected or returned direct debits, newest first."""
    returned = (
        Collection.objects.filter(status=CollectionStatus.RETURNED, method=CollectionMethod.SEPA_DIRECT_DEBIT)
        .select_related("contract", "return_import")
        .order_by("-returned_at", "-id")[:limit]
    )
    return [ReturnedDebitLine(collection=item, reason_text=return_reason_text(item.return_reason)) for item in returned]


@dataclass(frozen=True)
class ArrearsLine:
    contract: Contract
    days_past_due: int
    amount_overdue: int
    bucket: Bucket | None


def arrears_overview(*, on: datetime.date) -> list[ArrearsLine]:
    """Every contract with rows unpaid after their due date, oldest first, with its bucket (back office only)."""
    overdue = (
        ScheduleItem.objects.filter(status=ScheduleItemStatus.DUE, due_date__lt=on)
        .exclude(contract__status=ContractStatus.OFFERED)
        .values("contract_id")
        .annotate(oldest=Min("due_date"), total=Sum("amount"))
    )
    rows = {row["contract_id"]: row for row in overdue}
    contracts = Contract.objects.filter(pk__in=rows).select_related("product")
    lines = [
        ArrearsLine(
            contract=c,
            days_past_due=(on - rows[c.pk]["oldest"]).days,
            amount_overdue=rows[c.pk]["total"],
            bucket=bucket_for(days_past_due=(on - rows[c.pk]["oldest"]).days),
        )
        for c in contracts
    ]
    return sorted(lines, key=lambda line: -line.days_past_due)


def arrears_bucket_counts(*, on: datetime.date) -> list[tuple[Bucket, int, int]]:
    """(bucket, contracts, amount overdue in minor units) per configured bucket."""
    lines = arrears_overview(on=on)
    return [
        (
            bucket,
            sum(1 for line in lines if line.bucket == bucket),
            sum(line.amount_overdue for line in lines if line.bucket == bucket),
        )
        for bucket in delinquency_buckets()
    ]


def back_office_queue_counts() -> dict[str, int]:
    """Applications waiting for the back office, by status."""
    counts = dict(
        Application.objects.filter(
            status__in=[ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING]
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        status: counts.get(status, 0)
        for status in (ApplicationStatus.CREDIT_CHECK_PENDING, ApplicationStatus.DECISION_PENDING)
    }


def dealer_lease_payout_statement(*, organisation_id: int) -> Statement:
    """The lease book's payouts to a dealer organisation (vehicles it originated), read from its lease payable
    account only: its QR money has a statement of its own (`payments.qr.statements.dealer_statement`)."""
    return dealer_purpose_statement(
        organisation_id=organisation_id,
        purpose=Purpose.LEASE_DEALER_PAYABLE,
        title=gettext("Lease payouts"),
        labels={TransferCode.LEASE_DEALER_PAYOUT: gettext("Payout for a leased vehicle")},
    )


# --- a customer's payment record (read by the payment-history credential) --------------------------------------------
# Instalments are the rows a customer owes by the schedule (instalment and final balloon); fees and late fees are not.
PAYMENT_KINDS = (ScheduleItemKind.INSTALMENT, ScheduleItemKind.BALLOON)
RUNNING_CONTRACT_STATES = (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS)


@dataclass(frozen=True)
class InstalmentPaidLate:
    due_date: datetime.date
    paid_on: datetime.date
    days_late: int


@dataclass(frozen=True)
class InstalmentMissed:
    """Still unpaid after its due date on the day asked about."""

    due_date: datetime.date
    days_past_due: int


@dataclass(frozen=True)
class ReturnedDirectDebit:
    """A direct debit the bank rejected (pain.002) or returned (camt.054), with its ISO 20022 reason code."""

    returned_on: datetime.date
    reason_code: str
    source: str


@dataclass(frozen=True)
class ContractArrears:
    """A running contract's arrears on the day asked about: days past due and the delinquency bucket (None: none)."""

    contract_number: str
    days_past_due: int
    bucket: Bucket | None


def _customer_instalments(*, customer_id: int, due_from: datetime.date, due_to: datetime.date):
    return ScheduleItem.objects.filter(
        contract__customer_id=customer_id, kind__in=PAYMENT_KINDS, due_date__range=(due_from, due_to)
    ).exclude(contract__status=ContractStatus.OFFERED)


def instalments_paid_on_time_count(*, customer_id: int, due_from: datetime.date, due_to: datetime.date) -> int:
    """Instalments due in ``due_from``..``due_to`` (inclusive) and paid no later than their due date."""
    paid = _customer_instalments(customer_id=customer_id, due_from=due_from, due_to=due_to).filter(
        status=ScheduleItemStatus.PAID
    )
    return sum(1 for due, paid_at in paid.values_list("due_date", "paid_at") if timezone.localdate(paid_at) <= due)


def instalments_paid_late(
    *, customer_id: int, due_from: datetime.date, due_to: datetime.date
) -> list[InstalmentPaidLate]:
    """Instalments due in ``due_from``..``due_to`` (inclusive) paid after their due date, oldest due first."""
    paid = (
        _customer_instalments(customer_id=customer_id, due_from=due_from, due_to=due_to)
        .filter(status=ScheduleItemStatus.PAID)
        .order_by("due_date", "id")
        .values_list("due_date", "paid_at")
    )
    late = []
    for due, paid_at in paid:
        paid_on = timezone.localdate(paid_at)
        if paid_on > due:
            late.append(InstalmentPaidLate(due_date=due, paid_on=paid_on, days_late=(paid_on - due).days))
    return late


def instalments_missed(*, customer_id: int, due_from: datetime.date, on: datetime.date) -> list[InstalmentMissed]:
    """Instalments due from ``due_from`` and still unpaid after their due date on ``on`` (a debit the lessor put off
    itself is not missed), oldest first."""
    overdue = (
        overdue_schedule_items(on=on)
        .filter(contract__customer_id=customer_id, kind__in=PAYMENT_KINDS, due_date__gte=due_from)
        .exclude(contract__status=ContractStatus.OFFERED)
        .order_by("due_date", "id")
        .values_list("due_date", flat=True)
    )
    return [InstalmentMissed(due_date=due, days_past_due=(on - due).days) for due in overdue]


def returned_direct_debits(
    *, customer_id: int, returned_from: datetime.date, returned_to: datetime.date
) -> list[ReturnedDirectDebit]:
    """The customer's direct debits rejected or returned in ``returned_from``..``returned_to`` (inclusive, local
    dates), oldest first."""
    returned = (
        Collection.objects.filter(
            contract__customer_id=customer_id,
            status=CollectionStatus.RETURNED,
            method=CollectionMethod.SEPA_DIRECT_DEBIT,
        )
        .order_by("returned_at", "id")
        .values_list("returned_at", "return_reason", "return_source")
    )
    lines = [
        ReturnedDirectDebit(returned_on=timezone.localdate(at), reason_code=reason, source=source)
        for at, reason, source in returned
    ]
    return [line for line in lines if returned_from <= line.returned_on <= returned_to]


def contract_arrears_for_customer(*, customer_id: int, on: datetime.date) -> list[ContractArrears]:
    """Each running contract of the customer with its days past due and bucket on ``on``, by contract number."""
    contracts = Contract.objects.filter(customer_id=customer_id, status__in=RUNNING_CONTRACT_STATES).order_by("number")
    lines = []
    for contract in contracts:
        dpd = days_past_due(contract=contract, on=on)
        lines.append(
            ContractArrears(contract_number=contract.number, days_past_due=dpd, bucket=bucket_for(days_past_due=dpd))
        )
    return lines


def identity_check_latest(*, application: Application) -> IdentityCheck | None:
    """The application's most recent identity check (open, checked or refused), with its request."""
    return application.identity_checks.select_related("presentation_transaction").order_by("-created_at", "-id").first()
