"""The portal's PaymentHistoryCredential: built from the customer's own ledger accounts and issued by the portal
into the customer's wallet. The portal keeps only the credential record (id, status slots, salted leaf hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from identity.credentials.dids import DidResolutionError, public_key_from_did_key
from identity.credentials.types import build_payment_history_credential
from identity.services import issuance
from payments.ledger.selectors import account_list, account_transfers
from payments.ledger.types import TransferFlags
from portal.errors import ValidationFailed

PERIOD = timedelta(days=365)
VALIDITY = timedelta(days=90)


@dataclass(frozen=True)
class PaymentHistory:
    """Counts over ``period_start``..``period_end`` (dates, inclusive)."""

    on_time_payment_count: int
    arrears_count: int
    period_start: date
    period_end: date


def payment_history_for_user(*, user: User, now: datetime | None = None) -> PaymentHistory:
    """Over the last 365 days: payments that left the customer's ledger accounts and were settled (single-phase or
    posted pending transfers) count as on time; reserved payments that were voided (not covered when due) count as
    arrears."""
    now = now or timezone.now()
    start = now - PERIOD
    flags: list[int] = []
    for account in account_list(owner_reference=f"user:{user.pk}"):
        outgoing = account_transfers(account=account).filter(debit_account=account, created_at__range=(start, now))
        flags.extend(outgoing.values_list("flags", flat=True))
    on_time = sum(1 for value in flags if not value & (TransferFlags.PENDING | TransferFlags.VOID_PENDING))
    arrears = sum(1 for value in flags if value & TransferFlags.VOID_PENDING)
    return PaymentHistory(on_time, arrears, start.date(), now.date())


def payment_history_credential_issue(
    *, user: User, holder_did: str, securing_format: str = "sd-jwt", now: datetime | None = None
) -> issuance.IssuedCredential:
    """Issue the customer's payment history as the portal to the wallet's did:key; returned, never stored."""
    try:
        public_key_from_did_key(holder_did)
    except DidResolutionError as error:
        raise ValidationFailed(
            "The wallet's DID must be an Ed25519 did:key.", fields={"holderDid": ["invalid"]}
        ) from error
    moment = now or timezone.now()
    history = payment_history_for_user(user=user, now=moment)
    now = moment.replace(microsecond=0)
    credential = build_payment_history_credential(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=issuance.issuing_party_portal().did,
        subject_did=holder_did,
        on_time_payment_count=history.on_time_payment_count,
        arrears_count=history.arrears_count,
        period_start=history.period_start,
        period_end=history.period_end,
        valid_from=now,
        valid_until=now + VALIDITY,
    )
    return issuance.credential_issue(
        party=issuance.issuing_party_portal(), credential=credential, securing_format=securing_format, now=now
    )
