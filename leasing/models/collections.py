"""Collections of due amounts (portal balance or SEPA direct debit), mandates, batches, returns, dunning, and the
ledger accounts the leasing book uses."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from leasing.models.contracts import Contract, ScheduleItem

__all__ = [
    "Collection",
    "CollectionStatus",
    "DirectDebitBatch",
    "DirectDebitBatchStatus",
    "DirectDebitMandate",
    "DirectDebitPreNotification",
    "DunningLetter",
    "PreNotificationStatus",
    "ReturnSource",
    "ReturnedDebitImport",
    "SequenceType",
]


class DirectDebitMandate(models.Model):
    """A SEPA Core mandate the customer signed online. The IBAN is the only personal value stored, AES-GCM encrypted
    (`leasing.encryption`); the debtor appears in files under the mandate reference, not by name."""

    reference = models.CharField(max_length=35, unique=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lease_mandates")
    iban_encrypted = models.BinaryField()
    bic = models.CharField(max_length=11, blank=True, help_text="The debtor bank's BIC, when the customer gave it.")
    signed_on = models.DateField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"mandate {self.reference}"


class DirectDebitBatchStatus(models.TextChoices):
    OPEN = "open", _("Open")
    EXPORTED = "exported", _("Exported")


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


class SequenceType(models.TextChoices):
    """SEPA sequence of a debit under its mandate: the first one (FRST), or a later one (RCUR)."""

    FIRST = "FRST", _("First")
    RECURRING = "RCUR", _("Recurring")


class ReturnSource(models.TextChoices):
    """Which bank message returned a debit: a reject before settlement (pain.002) or a return after it (camt.054)."""

    REJECT = "pain.002", _("Rejected before settlement")
    RETURN = "camt.054", _("Returned after settlement")


class CollectionStatus(models.TextChoices):
    COLLECTED = "collected", _("Collected from the portal balance")
    SUBMITTED = "submitted", _("Submitted as a direct debit")
    RETURNED = "returned", _("Returned")


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
    sequence_type = models.CharField(max_length=4, choices=SequenceType.choices, blank=True)
    return_reason = models.CharField(max_length=10, blank=True, help_text="ISO 20022 external reason code.")
    return_source = models.CharField(max_length=10, choices=ReturnSource.choices, blank=True)
    return_import = models.ForeignKey(
        "leasing.ReturnedDebitImport", null=True, blank=True, on_delete=models.PROTECT, related_name="collections"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(method="sepa_direct_debit", sequence_type__in=SequenceType.values, batch__isnull=False)
                | ~Q(method="sepa_direct_debit") & Q(sequence_type="", batch__isnull=True),
                name="leasing_collection_debit_has_batch_and_sequence",
            ),
            models.CheckConstraint(
                condition=Q(status="returned", return_source__in=ReturnSource.values, returned_at__isnull=False)
                | ~Q(status="returned") & Q(return_source="", returned_at__isnull=True),
                name="leasing_collection_return_recorded",
            ),
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
    """An imported bank file of rejected (pain.002.001.03) or returned (camt.054.001.02) debits.

    Its SHA-256 and its (message type, message id) are unique, so the same file, or the same bank message sent again,
    is refused and books nothing; a debit already returned by another file is not booked twice either.
    """

    file_sha256 = models.CharField(max_length=64, unique=True)
    file_name = models.CharField(max_length=200)
    message_type = models.CharField(max_length=10, choices=ReturnSource.choices, blank=True, default="")
    message_id = models.CharField(max_length=35, blank=True, default="", help_text="Empty on the old CSV imports.")
    rows_booked = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_type", "message_id"], condition=~Q(message_id=""), name="leasing_return_message_once"
            ),
        ]

    def __str__(self) -> str:
        return f"returned-debit import {self.file_name}"


class PreNotificationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COLLECTED = "collected", _("Collected")
    MOVED = "moved", _("Moved to a later date")
    CANCELLED = "cancelled", _("Cancelled")


class DirectDebitPreNotification(models.Model):
    """The notice telling the debtor the amount (minor units of `currency`) and date of one coming direct debit.

    SEPA Core needs it `notice_days` before `collection_date` (14 calendar days unless the contract says otherwise).
    It is e-mailed once (`sent_at`); a row is debited only under a notice sent in time. A notice that was not sent in
    time is marked moved and a new one with a later date takes its place: at most one scheduled notice per row.
    """

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="pre_notifications")
    schedule_item = models.ForeignKey(ScheduleItem, on_delete=models.CASCADE, related_name="pre_notifications")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    collection_date = models.DateField()
    notice_days = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=PreNotificationStatus.choices, default=PreNotificationStatus.SCHEDULED
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["collection_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule_item"], condition=Q(status="scheduled"), name="leasing_one_scheduled_notice_per_row"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="leasing_notice_amount_positive"),
            models.CheckConstraint(condition=Q(notice_days__gte=1), name="leasing_notice_days_positive"),
            models.CheckConstraint(condition=Q(status__in=PreNotificationStatus.values), name="leasing_notice_status"),
            models.CheckConstraint(
                condition=~Q(status="collected") | Q(sent_at__isnull=False), name="leasing_notice_collected_only_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"pre-notification of {self.schedule_item_id} for {self.collection_date}"


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
