"""Re-encrypts every encrypted field under the newest key of FIELD_ENCRYPTION_KEYS.

Run after putting a new key first in FIELD_ENCRYPTION_KEYS (keeping the old ones listed); when it reports nothing
left to rotate, the old keys can be removed. Works in batches, each its own transaction with the rows locked, and
skips values already under the newest key: safe to interrupt and to run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand
from django.db import models, transaction

from core.encryption import field_is_current, field_reencrypt


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column and how to name the context its values were encrypted for."""

    label: str
    model: Callable[[], type[models.Model]]
    field: str
    context: Callable[[Any], bytes]


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of the portal (a new one must be listed here, or rotation would miss it)."""
    from accounts.models import EncryptedTotpDevice
    from credit_checks.models import DealerWebhook
    from identity.models import SigningKey, X509SigningKey
    from leasing.models import DirectDebitMandate
    from machines.models import ChargingStation, Vehicle

    return [
        EncryptedColumn("identity.SigningKey", lambda: SigningKey, "encrypted_private_key",
                        lambda row: f"{row.controller}#{row.key_id}".encode()),
        EncryptedColumn("identity.X509SigningKey", lambda: X509SigningKey, "encrypted_private_key",
                        lambda row: row.encryption_context()),
        EncryptedColumn("credit_checks.DealerWebhook", lambda: DealerWebhook, "encrypted_secret",
                        lambda row: f"credit-check-webhook:{row.dealer_organisation_id}".encode()),
        EncryptedColumn("machines.Vehicle", lambda: Vehicle, "encrypted_private_key", lambda row: row.did.encode()),
        EncryptedColumn("machines.ChargingStation", lambda: ChargingStation, "encrypted_private_key",
                        lambda row: row.did.encode()),
        EncryptedColumn("leasing.DirectDebitMandate", lambda: DirectDebitMandate, "iban_encrypted",
                        lambda row: b"mandate.iban"),
        EncryptedColumn("accounts.EncryptedTotpDevice", lambda: EncryptedTotpDevice, "encrypted_key",
                        lambda row: EncryptedTotpDevice.secret_context(row.user_id)),
    ]  # fmt: skip


def column_rotate(*, column: EncryptedColumn, batch_size: int) -> tuple[int, int]:
    """Re-encrypts the column's stale values batch by batch; returns (rows seen, rows rewritten)."""
    model = column.model()
    seen = rewritten = 0
    last_pk: Any = None
    while True:
        with transaction.atomic():
            rows = model.objects.select_for_update().order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:batch_size])
            if not batch:
                return seen, rewritten
            stale = [row for row in batch if not field_is_current(blob=bytes(getattr(row, column.field)))]
            for row in stale:
                blob = bytes(getattr(row, column.field))
                setattr(row, column.field, field_reencrypt(blob=blob, context=column.context(row)))
            model.objects.bulk_update(stale, [column.field])
        seen += len(batch)
        rewritten += len(stale)
        last_pk = batch[-1].pk


class Command(BaseCommand):
    help = "Re-encrypts every encrypted field under the newest key of FIELD_ENCRYPTION_KEYS (safe to run twice)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        for column in encrypted_columns():
            seen, rewritten = column_rotate(column=column, batch_size=options["batch_size"])
            self.stdout.write(f"{column.label}.{column.field}: {rewritten} of {seen} re-encrypted")
