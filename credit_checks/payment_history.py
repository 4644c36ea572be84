"""The portal's PaymentHistoryCredential: built from the customer's lease payment facts, read through leasing's
selectors (instalments paid on time, paid late, still unpaid after their due date, direct debits the bank rejected
or returned, and each running contract's arrears bucket), and issued by the portal into the customer's wallet. The
portal keeps only the credential record (id, status slots, salted leaf hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from core.errors import ValidationFailed
from identity.credentials.dids import DidResolutionError, public_key_from_did_key
from identity.credentials.types import build_payment_history_credential
from identity.services import issuance
from leasing import selectors as leasing_selectors

PERIOD = timedelta(days=365)
VALIDITY = timedelta(days=90)


@dataclass(frozen=True)
class PaymentHistory:
    """The customer's payment facts over ``period_start``..``period_end`` (dates, inclusive); ``current_arrears`` is
    the state on ``period_end``. ``arrears_count`` counts the instalments not paid on time (late or missed)."""

    on_time_payment_count: int
    late_payments: list[leasing_selectors.InstalmentPaidLate]
    missed_payments: list[leasing_selectors.InstalmentMissed]
    returned_direct_debits: list[leasing_selectors.ReturnedDirectDebit]
    current_arrears: list[leasing_selectors.ContractArrears]
    period_start: date
    period_end: date

    @property
    def arrears_count(self) -> int:
        return len(self.late_payments) + len(self.missed_payments)


def payment_history_for_user(*, user: User, now: datetime | None = None) -> PaymentHistory:
    """Over the last 365 days up to today (local dates): instalments due in the period paid by their due date, those
    paid after it (with the days late), those still unpaid after it (with the days past due), direct debits returned
    in the period with their reason codes, and the arrears of each running contract today."""
    today = timezone.localdate(now or timezone.now())
    start = today - PERIOD
    customer_id = user.pk
    return PaymentHistory(
        on_time_payment_count=leasing_selectors.instalments_paid_on_time_count(
            customer_id=customer_id, due_from=start, due_to=today
        ),
        late_payments=leasing_selectors.instalments_paid_late(customer_id=customer_id, due_from=start, due_to=today),
        missed_payments=leasing_selectors.instalments_missed(customer_id=customer_id, due_from=start, on=today),
        returned_direct_debits=leasing_selectors.returned_direct_debits(
            customer_id=customer_id, returned_from=start, returned_to=today
        ),
        current_arrears=leasing_selectors.contract_arrears_for_customer(customer_id=customer_id, on=today),
        period_start=start,
        period_end=today,
    )


def _bucket_name(line: leasing_selectors.ContractArrears) -> str:
    if line.bucket is None:
        return "none"
    first, last = line.bucket.first_day, line.bucket.last_day
    return f"{first}+" if last is None else f"{first}-{last}"


def _payment_detail_claims(history: PaymentHistory) -> dict[str, list[dict[str, object]]]:
    """The detail lines of the credential (each selectively disclosable), keyed by the builder's argument names."""
    return {
        "late_payments": [
            {"dueDate": line.due_date.isoformat(), "paidOn": line.paid_on.isoformat(), "daysLate": line.days_late}
            for line in history.late_payments
        ],
        "missed_payments": [
            {"dueDate": line.due_date.isoformat(), "daysPastDue": line.days_past_due}
            for line in history.missed_payments
        ],
        "returned_direct_debits": [
            {"returnedOn": line.returned_on.isoformat(), "reasonCode": line.reason_code}
            for line in history.returned_direct_debits
        ],
        "current_arrears": [
            {"daysPastDue": line.days_past_due, "bucket": _bucket_name(line)} for line in history.current_arrears
        ],
    }


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
        **_payment_detail_claims(history),
    )
    return issuance.credential_issue(
        party=issuance.issuing_party_portal(), credential=credential, securing_format=securing_format, now=now
    )


_CLAIM_NAMES = {
    "late_payments": "latePayments",
    "missed_payments": "missedPayments",
    "returned_direct_debits": "returnedDirectDebits",
    "current_arrears": "currentArrears",
}


def _payment_history_claims(user: User) -> dict[str, object]:
    """The subject claims of the payment-history credential as issued over OpenID4VCI: the same facts as
    `payment_history_credential_issue` puts in the portal's own SD-JWT."""
    history = payment_history_for_user(user=user)
    claims: dict[str, object] = {
        "onTimePaymentCount": history.on_time_payment_count,
        "arrearsCount": history.arrears_count,
        "periodStart": history.period_start.isoformat(),
        "periodEnd": history.period_end.isoformat(),
    }
    claims.update({_CLAIM_NAMES[name]: lines for name, lines in _payment_detail_claims(history).items()})
    return claims


def payment_history_configuration_register() -> None:
    """Offer the payment-history credential through the portal's OpenID4VCI issuer (signed ES256 with x5c)."""
    from django.utils.translation import gettext_lazy as _

    from identity.openid4vci.configurations import (
        ClaimDisplay,
        CredentialConfiguration,
        SignedBy,
        credential_configuration_register,
    )

    credential_configuration_register(
        CredentialConfiguration(
            configuration_id="PaymentHistoryCredential",
            credential_type="PaymentHistoryCredential",
            type_name="payment-history",
            name=_("Payment history"),
            description=_("Your lease payments over the last year: on time, late, missed and returned direct debits."),
            claims=(
                ClaimDisplay("onTimePaymentCount", _("Payments on time")),
                ClaimDisplay("arrearsCount", _("Payments late or missed")),
                ClaimDisplay("periodStart", _("From")),
                ClaimDisplay("periodEnd", _("To")),
                ClaimDisplay("latePayments", _("Payments made late")),
                ClaimDisplay("missedPayments", _("Payments missed")),
                ClaimDisplay("returnedDirectDebits", _("Direct debits returned")),
                ClaimDisplay("currentArrears", _("Arrears today")),
            ),
            claims_for=_payment_history_claims,
            signed_by=SignedBy.PORTAL_X509,
            validity=VALIDITY,
        )
    )
