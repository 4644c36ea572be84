"""Collections of due amounts (portal balance or SEPA direct debit), mandates, batches, returns, dunning, and the
ledger accounts the leasing book uses."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leasing.models.contracts import Contract, ScheduleItem

__all__ = [
    "Collection",
    "CollectionStatus",
    "DirectDebitBatch",
    "DirectDebitBatchStatus",
    "DirectDebitMandate",
    "DunningLetter",
    "LeaseLedgerAccount",
    "ReturnedDebitImport",
]


class DirectDebitMandate(models.Model):
    """A SEPA Core mandate the customer signed online. The IBAN is the only personal value stored, AES-GCM encrypted
    (`leasing.encryption`); the debtor appears in files under the mandate reference, not by name."""

    reference = models.CharField(max_length=35, unique=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lease_mandates")
    iban_encrypted = models.BinaryField()
    signed_on = models.DateField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"mandate {self.reference}"


class DirectDebitBatchStatus(models.TextChoices):
    OPEN = "open", "Open"
    EXPORTED = "exported", "Exported"


class DirectDebitBatch(models.Model):
    """The debits of one collection date, exported once as a pain.008.001.02 file for staff to submit to the bank.
    `total` in minor units of `currency`; the file and its SHA-256 are kept as submitted."""

    collection_date = models.DateField()
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(
        max_length=10, choices=DirectDebitBatchStatus.choices, default=DirectDebitBatchStatus.OPEN
    )
    message_id = models.CharField(max_length=35, unique=True)
    file_xml = models.BinaryField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-collection_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection_date", "currency"],
                condition=Q(status="open"),
                name="leasing_one_open_batch_per_date",
            ),
        ]

    def __str__(self) -> str:
        return f"direct-debit batch {self.message_id}"


class CollectionStatus(models.TextChoices):
    COLLECTED = "collected", "Collected from the portal balance"
    SUBMITTED = "submitted", "Submitted as a direct debit"
    RETURNED = "returned", "Returned"


class Collection(models.Model):
    """One attempt to collect a schedule row, in minor units; at most one live (not returned) attempt per row.

    The ledger transfers of attempt n have ids derived from (row, n), and the row, the transfers and this record are
    written in one transaction, so a second run or a crashed run can never collect a row twice.
    """

    schedule_item = models.ForeignKey(ScheduleItem, on_delete=models.PROTECT, related_name="collections")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="collections")
    attempt = models.PositiveSmallIntegerField(default=1)
    method = models.CharField(max_length=20)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=CollectionStatus.choices)
    end_to_end_id = models.CharField(max_length=35, unique=True)
    batch = models.ForeignKey(
        DirectDebitBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="collections"
    )
    return_reason = models.CharField(max_length=10, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule_item"], condition=~Q(status="returned"), name="leasing_collection_once_per_item"
            ),
            models.UniqueConstraint(fields=["schedule_item", "attempt"], name="leasing_collection_attempt_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="leasing_collection_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=CollectionStatus.values), name="leasing_collection_status"),
        ]

    def __str__(self) -> str:
        return f"collection {self.end_to_end_id}"


class ReturnedDebitImport(models.Model):
    """An imported file of returned debits; its SHA-256 is unique, so importing the same file twice books nothing."""

    file_sha256 = models.CharField(max_length=64, unique=True)
    file_name = models.CharField(max_length=200)
    rows_booked = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"returned-debit import {self.file_name}"


class DunningLetter(models.Model):
    """A reminder for an arrears episode (identified by its oldest unpaid due date) at one delinquency level; sent by
    e-mail with the PDF attached, at most once per level and episode. `amount_overdue` in minor units."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="dunning_letters")
    level = models.PositiveSmallIntegerField()
    oldest_due_date = models.DateField()
    days_past_due = models.PositiveIntegerField()
    amount_overdue = models.BigIntegerField()
    pdf = models.BinaryField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "level", "oldest_due_date"], name="leasing_dunning_once_per_level"
            ),
        ]

    def __str__(self) -> str:
        return f"dunning level {self.level} for {self.contract_id}"


class LeaseLedgerAccount(models.Model):
    """Which ledger account plays which role for leasing (`purpose` per owner and currency), opened once."""

    purpose = models.CharField(max_length=24)
    owner_reference = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    account_id = models.BigIntegerField(unique=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "owner_reference", "currency"], name="leasing_ledger_account_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.owner_reference} {self.currency}"
