"""Arrears: days past due, delinquency buckets, late fees, dunning letters (e-mail + PDF) and the dunning pause.

A row is overdue when it is still due after its due date. A contract's days past due (DPD) count from its oldest
overdue row. Buckets come from `LEASING_DELINQUENCY_BUCKETS` ("1-30,31-60,61-90,91-": level n is the n-th range).
`arrears_run` (daily, after the collection run) moves contracts into and out of arrears, charges one late fee
(`LEASING_LATE_FEE`, minor units) per overdue instalment once it is `LEASING_LATE_FEE_GRACE_DAYS` late, and sends one
dunning letter per level and arrears episode unless dunning is paused. Every step is idempotent.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import User
from core.errors import ValidationFailed
from core.money import Money
from core.outbox import outbox_write
from leasing import ledger
from leasing.documents import dunning_letter_pdf
from leasing.errors import ContractStateError
from leasing.models import (
    Collection,
    Contract,
    ContractEvent,
    ContractStatus,
    DirectDebitPreNotification,
    DunningLetter,
    PreNotificationStatus,
    ScheduleItem,
    ScheduleItemKind,
    ScheduleItemStatus,
)
from leasing.services.schedules import schedule_item_add
from payments.ledger.registry import Purpose, TransferCode

DEFAULT_BUCKETS = "1-30,31-60,61-90,91-"


@dataclass(frozen=True)
class Bucket:
    """A delinquency range of days past due (inclusive); `last_day` None means open-ended."""

    level: int
    first_day: int
    last_day: int | None

    @property
    def label(self) -> str:
        return f"{self.first_day}+ days" if self.last_day is None else f"{self.first_day}-{self.last_day} days"


def delinquency_buckets() -> list[Bucket]:
    """The configured buckets, level 1 first."""
    spec = getattr(settings, "LEASING_DELINQUENCY_BUCKETS", DEFAULT_BUCKETS)
    buckets = []
    for level, part in enumerate(spec.split(","), start=1):
        first, _, last = part.strip().partition("-")
        buckets.append(Bucket(level=level, first_day=int(first), last_day=int(last) if last else None))
    return buckets


def bucket_for(*, days_past_due: int) -> Bucket | None:
    return next(
        (
            b
            for b in delinquency_buckets()
            if b.first_day <= days_past_due and (b.last_day is None or days_past_due <= b.last_day)
        ),
        None,
    )


def overdue_schedule_items(*, on: datetime.date):
    """Rows of every contract still due after their due date, except a direct debit the lessor itself has put off:
    one never collected whose pre-notification moved it past the due date (the customer is not late for that)."""
    put_off = DirectDebitPreNotification.objects.filter(
        schedule_item=OuterRef("pk"), status=PreNotificationStatus.SCHEDULED
    )
    attempted = Collection.objects.filter(schedule_item=OuterRef("pk"))
    return ScheduleItem.objects.filter(status=ScheduleItemStatus.DUE, due_date__lt=on).exclude(
        Exists(put_off) & ~Exists(attempted)
    )


def _overdue(*, contract: Contract, on: datetime.date):
    return overdue_schedule_items(on=on).filter(contract=contract)


def days_past_due(*, contract: Contract, on: datetime.date) -> int:
    """Days since the oldest row still unpaid after its due date; 0 when nothing is overdue."""
    oldest = _overdue(contract=contract, on=on).aggregate(oldest=Min("due_date"))["oldest"]
    return (on - oldest).days if oldest else 0


def arrears_run(*, on: datetime.date) -> int:
    """Refreshes arrears for every running contract; returns how many contracts are in arrears afterwards."""
    in_arrears = 0
    candidates = Contract.objects.filter(status__in=[ContractStatus.ACTIVE, ContractStatus.IN_ARREARS])
    for contract_id in candidates.values_list("id", flat=True):
        in_arrears += contract_arrears_refresh(contract_id=contract_id, on=on)
    return in_arrears


@transaction.atomic
def contract_arrears_refresh(*, contract_id: int, on: datetime.date) -> bool:
    """Status, late fees and the due dunning letter of one contract; True when it is in arrears."""
    contract = Contract.objects.select_for_update().get(pk=contract_id)
    if contract.status not in (ContractStatus.ACTIVE, ContractStatus.IN_ARREARS):
        return False
    dpd = days_past_due(contract=contract, on=on)
    status = ContractStatus.IN_ARREARS if dpd > 0 else ContractStatus.ACTIVE
    if status != contract.status:
        Contract.objects.filter(pk=contract.pk).update(status=status, updated_at=timezone.now())
        ContractEvent.objects.create(contract=contract, kind=f"status_{status}", detail=f"{dpd} days past due")
    if dpd == 0:
        return False
    _late_fees_charge(contract=contract, on=on)
    if contract.dunning_paused_until is None or contract.dunning_paused_until < on:
        _dunning_letter_send(contract=contract, on=on, dpd=dpd)
    return True


def _late_fees_charge(*, contract: Contract, on: datetime.date) -> None:
    fee = int(getattr(settings, "LEASING_LATE_FEE", 5_00))
    grace = int(getattr(settings, "LEASING_LATE_FEE_GRACE_DAYS", 5))
    if fee <= 0:
        return
    late = _overdue(contract=contract, on=on - datetime.timedelta(days=grace)).filter(
        kind__in=[ScheduleItemKind.INSTALMENT, ScheduleItemKind.BALLOON]
    )
    charged = set(
        ScheduleItem.objects.filter(contract=contract, kind=ScheduleItemKind.LATE_FEE).values_list(
            "origin_id", flat=True
        )
    )
    for item in late.exclude(id__in=charged):
        try:
            with transaction.atomic():
                fee_item = schedule_item_add(
                    contract=contract, kind=ScheduleItemKind.LATE_FEE, due_date=on, fee=fee, origin=item
                )
                fee_charge_post(contract=contract, item=fee_item)
        except IntegrityError:
            continue


def fee_charge_post(*, contract: Contract, item: ScheduleItem) -> None:
    """Charges a fee row to the receivable (receivable → fee revenue), once per row."""
    ledger.posting_book(
        event=f"charge:{item.pk}",
        currency=contract.currency,
        legs=[
            ledger.Leg(
                "fee",
                contract.receivable_account_id,
                ledger.book_account_id(purpose=Purpose.LEASE_FEE_REVENUE, currency=contract.currency),
                item.fee,
                TransferCode.LEASE_FEE_CHARGE,
            )
        ],
    )


def _dunning_letter_send(*, contract: Contract, on: datetime.date, dpd: int) -> None:
    bucket = bucket_for(days_past_due=dpd)
    if bucket is None:
        return
    overdue = _overdue(contract=contract, on=on)
    oldest = overdue.aggregate(oldest=Min("due_date"))["oldest"]
    amount = Money(overdue.aggregate(total=Sum("amount"))["total"] or 0, contract.currency)
    if DunningLetter.objects.filter(contract=contract, level=bucket.level, oldest_due_date=oldest).exists():
        return
    with translation.override(contract.customer.correspondence_language):
        pdf = dunning_letter_pdf(
            number=contract.number, level=bucket.level, letter_date=on, days_past_due=dpd, amount_overdue=amount
        )
    letter = DunningLetter.objects.create(
        contract=contract,
        level=bucket.level,
        oldest_due_date=oldest,
        days_past_due=dpd,
        amount_overdue=amount.amount,
        pdf=pdf,
    )
    from leasing.tasks import DUNNING_LETTER_TOPIC

    outbox_write(topic=DUNNING_LETTER_TOPIC, key=f"dunning_letter:{letter.pk}", payload={"letter_id": letter.pk})


def dunning_letter_email(*, letter_id: int) -> bool:
    """E-mails a recorded dunning letter with its PDF and stamps `emailed_at`; False when it was e-mailed already.
    The outbox runs it after the letter's commit; the row lock makes a concurrent second run find the stamp."""
    letter = (
        DunningLetter.objects.select_for_update(of=("self",))
        .select_related("contract__customer")
        .filter(pk=letter_id, emailed_at__isnull=True)
        .first()
    )
    if letter is None:
        return False
    contract = letter.contract
    amount = Money(letter.amount_overdue, contract.currency)
    with translation.override(contract.customer.correspondence_language):
        subject = gettext("Payment reminder for contract %(number)s") % {"number": contract.number}
        body = gettext(
            "%(amount)s is overdue on your contract %(number)s for %(days)s days. "
            "The reminder is attached; you can also see it in the portal."
        ) % {"amount": amount.format(), "number": contract.number, "days": letter.days_past_due}
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[contract.customer.email],
    )
    message.attach(f"reminder-{contract.number}-{letter.level}.pdf", bytes(letter.pdf), "application/pdf")
    message.send()
    DunningLetter.objects.filter(pk=letter.pk).update(emailed_at=timezone.now())
    return True


@transaction.atomic
def contract_dunning_pause(*, contract_id: int, until: datetime.date | None, actor: User, reason: str) -> Contract:
    """Pauses dunning letters (not collections) until a date, or lifts the pause with `until=None`."""
    if not reason.strip():
        raise ValidationFailed(
            gettext_lazy("A pause needs a reason."), code="reason_required", fields={"reason": ["Required."]}
        )
    contract = Contract.objects.select_for_update().get(pk=contract_id)
    if contract.status in (ContractStatus.OFFERED, ContractStatus.ENDED):
        raise ContractStateError(gettext_lazy("Only a running contract can be paused."))
    if until is not None and until < timezone.localdate():
        raise ValidationFailed(
            gettext_lazy("The pause must end today or later."), code="date_invalid", fields={"until": ["In the past."]}
        )
    contract.dunning_paused_until = until
    contract.save(update_fields=["dunning_paused_until", "updated_at"])
    ContractEvent.objects.create(
        contract=contract, kind="dunning_paused", detail=f"until {until}: {reason}"[:500], actor=actor
    )
    return contract
