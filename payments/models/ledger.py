"""Ledger models: accounts with four running sums and immutable double-entry transfers.

The semantics follow TigerBeetle. The database is the guard: the CHECK constraints below, the partial unique index on
`pending`, and the triggers installed by migration 0001 (balances are applied by the database when a transfer row is
inserted, transfers refuse UPDATE and DELETE) hold even against raw SQL.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import Exact, In
from django.utils.translation import gettext_lazy as _

__all__ = ["Account", "AccountCode", "PendingTransferTimeout", "Transfer"]

# Bits of Transfer.flags (see payments.ledger.types.TransferFlags); repeated here so the constraints need no import.
_LINKED, _PENDING, _POST_PENDING, _VOID_PENDING = 1, 2, 4, 8
_PHASE_BITS = _PENDING | _POST_PENDING | _VOID_PENDING
_RESOLUTION_BITS = _POST_PENDING | _VOID_PENDING


class AccountCode(models.IntegerChoices):
    """What an account is for; the chart of accounts of the portal."""

    CUSTOMER_PREPAID = 1, _("Customer prepaid balance")
    MERCHANT_PAYABLE = 2, _("Merchant payable")
    CLEARING = 3, _("Clearing")
    FEES = 4, _("Fees")
    REVENUE = 5, _("Revenue")
    MACHINE_WALLET = 6, _("Machine wallet")
    OPERATOR = 7, _("Charging-station operator")
    BANK = 8, _("Bank (cash at bank)")
    LEASE_RECEIVABLE = 9, _("Lease receivable")
    SUSPENSE = 10, _("Suspense")


class Account(models.Model):
    """A ledger account in one currency with four running sums in integer minor units.

    `debits_posted`/`credits_posted` are settled amounts; `debits_pending`/`credits_pending` are reserved by pending
    transfers. Only the database trigger on `Transfer` changes them (a guard trigger refuses any other update on
    PostgreSQL). The flags are enforced by CHECK constraints: with `debits_must_not_exceed_credits` the account can
    never be overdrawn (debits_pending + debits_posted <= credits_posted), and symmetrically.
    `owner_reference` is an opaque reference such as "user:12" or "dealer:3" and never holds personal data.
    Accounts of the product chart are named by (ledger, purpose, owner kind, owner id) and opened only through
    `payments.ledger.client.account_get_or_open`; the unique constraint makes that name one account.
    """

    ledger = models.CharField(max_length=3, help_text="ISO 4217 currency code, e.g. EUR.")
    code = models.PositiveSmallIntegerField(choices=AccountCode.choices)
    owner_reference = models.CharField(max_length=64, blank=True, db_index=True)
    purpose = models.CharField(
        max_length=40,
        blank=True,
        help_text="What the account is for (payments.ledger.registry.Purpose); blank for "
        "accounts opened by hand through the ledger API.",
    )
    owner_kind = models.CharField(max_length=16, blank=True, help_text="payments.ledger.registry.OwnerKind")
    owner_id = models.CharField(max_length=56, blank=True)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    is_closed = models.BooleanField(default=False)
    debits_pending = models.BigIntegerField(default=0)
    debits_posted = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(debits_pending__gte=0), name="account_debits_pending_non_negative"),
            models.CheckConstraint(condition=Q(debits_posted__gte=0), name="account_debits_posted_non_negative"),
            models.CheckConstraint(condition=Q(credits_pending__gte=0), name="account_credits_pending_non_negative"),
            models.CheckConstraint(condition=Q(credits_posted__gte=0), name="account_credits_posted_non_negative"),
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(debits_pending__lte=F("credits_posted") - F("debits_posted")),
                name="account_debits_must_not_exceed_credits",
            ),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(credits_pending__lte=F("debits_posted") - F("credits_posted")),
                name="account_credits_must_not_exceed_debits",
            ),
            models.CheckConstraint(
                condition=~Q(debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True),
                name="account_balance_flags_mutually_exclusive",
            ),
            models.CheckConstraint(condition=Q(code__in=AccountCode.values), name="account_code_valid"),
            models.CheckConstraint(condition=~Q(ledger=""), name="account_ledger_not_empty"),
            models.UniqueConstraint(
                fields=["ledger", "purpose", "owner_kind", "owner_id"],
                condition=~Q(purpose=""),
                name="account_one_per_purpose_and_owner",
            ),
            models.CheckConstraint(
                condition=Q(purpose="") | (~Q(owner_kind="") & ~Q(owner_id="")),
                name="account_purpose_has_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ledger} account {self.pk} ({self.get_code_display()})"

    @property
    def balance_posted(self) -> int:
        """Credits minus debits posted, in minor units (positive for a customer's prepaid money)."""
        return self.credits_posted - self.debits_posted


class Transfer(models.Model):
    """An immutable movement of `amount` minor units from `debit_account` to `credit_account` in one `ledger`.

    The id is chosen by the client, so a retried request finds its first result. `flags` holds TigerBeetle's bits
    (LINKED=1, PENDING=2, POST_PENDING=4, VOID_PENDING=8). A pending transfer reserves funds; a later transfer with
    POST_PENDING or VOID_PENDING and `pending` pointing at it resolves it, at most once (partial unique index).
    `created_at` strictly increases within one batch (one microsecond apart), so statements list a batch in order.
    """

    id = models.UUIDField(primary_key=True)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debit_transfers")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credit_transfers")
    amount = models.BigIntegerField(help_text="Minor units of the ledger's currency; posted amount for a post.")
    ledger = models.CharField(max_length=3)
    code = models.PositiveIntegerField(help_text="Business reason, e.g. 1 = QR purchase.")
    flags = models.PositiveSmallIntegerField(default=0)
    pending = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="resolutions", db_index=False
    )
    timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    user_data = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [
            models.Index(fields=["debit_account", "created_at"], name="transfer_debit_account_time"),
            models.Index(fields=["credit_account", "created_at"], name="transfer_credit_account_time"),
            models.Index(fields=["code", "created_at"], name="transfer_code_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")), name="transfer_accounts_different"),
            models.CheckConstraint(condition=Q(flags__lte=15), name="transfer_flags_known"),
            models.CheckConstraint(
                condition=In(F("flags").bitand(_PHASE_BITS), [0, _PENDING, _POST_PENDING, _VOID_PENDING]),
                name="transfer_phase_flags_mutually_exclusive",
            ),
            models.CheckConstraint(
                condition=Q(
                    In(F("flags").bitand(_RESOLUTION_BITS), [_POST_PENDING, _VOID_PENDING]), pending__isnull=False
                )
                | Q(Exact(F("flags").bitand(_RESOLUTION_BITS), 0), pending__isnull=True),
                name="transfer_pending_reference_iff_resolution",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__isnull=True, expires_at__isnull=True)
                | Exact(F("flags").bitand(_PENDING), _PENDING),
                name="transfer_timeout_only_when_pending",
            ),
            models.CheckConstraint(condition=~Q(ledger=""), name="transfer_ledger_not_empty"),
            models.CheckConstraint(condition=Q(code__gt=0), name="transfer_code_positive"),
            models.UniqueConstraint(
                fields=["pending"], condition=Q(pending__isnull=False), name="transfer_pending_resolved_once"
            ),
        ]

    def __str__(self) -> str:
        return f"transfer {self.id}: {self.amount} {self.ledger} {self.debit_account_id}->{self.credit_account_id}"

    @property
    def is_pending(self) -> bool:
        return bool(self.flags & _PENDING)

    @property
    def is_post_pending(self) -> bool:
        return bool(self.flags & _POST_PENDING)

    @property
    def is_void_pending(self) -> bool:
        return bool(self.flags & _VOID_PENDING)

    @property
    def is_linked(self) -> bool:
        return bool(self.flags & _LINKED)

    @property
    def kind(self) -> str:
        """A label for statements: "pending", "post", "void" or "single"."""
        if self.is_pending:
            return "pending"
        if self.is_post_pending:
            return "post"
        if self.is_void_pending:
            return "void"
        return "single"


class PendingTransferTimeout(models.Model):
    """An open pending transfer that has a timeout: the work list of the expiry task.

    A row exists only while its pending transfer is unresolved; the transaction that posts or voids the transfer deletes
    it. `expires_at` is when the expiry task may void the transfer (timezone-aware).
    """

    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, primary_key=True, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"pending {self.transfer_id} expires {self.expires_at.isoformat()}"
