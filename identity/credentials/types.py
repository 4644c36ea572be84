"""Builders for the portal's credential types (VC Data Model 2.0, unsigned; secure them with a format module).

Amounts are integer minor units with an ISO 4217 currency code; dates are ISO 8601. The subject holds only results
(verified, over 18, score band), never the evidence behind them.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from identity.credentials.core import VC_V2_CONTEXT, format_datetime

SCORE_BANDS = ("A", "B", "C", "D", "E")
NEGATIVE_RECORD_BANDS = ("none", "minor", "major")
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
_COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")


def build_identity_credential(
    *,
    credential_id: str,
    issuer: str,
    subject_did: str,
    is_verified: bool,
    is_over_18: bool,
    country_code: str,
    valid_from: datetime,
    valid_until: datetime,
    credential_status: list[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """KYC result: the subject was identified, is (or is not) an adult, and lives in ``country_code`` (ISO 3166)."""
    if not _COUNTRY_PATTERN.match(country_code):
        raise ValueError("country_code must be an ISO 3166-1 alpha-2 code")
    subject = {"id": subject_did, "isVerified": is_verified, "isOver18": is_over_18, "countryOfResidence": country_code}
    return _credential(
        credential_id=credential_id,
        credential_type="IdentityCredential",
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_status=credential_status,
    )


def build_credit_history_credential(
    *,
    credential_id: str,
    issuer: str,
    subject_did: str,
    score_band: str,
    affordability_ceiling_minor: int,
    currency: str,
    negative_record_band: str,
    as_of: date,
    issuer_policy: str,
    valid_from: datetime,
    valid_until: datetime,
    credential_status: list[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Credit bureau result: score band, the monthly payment the subject can afford (minor units of ``currency``),
    negative-record band, the date the data was taken, and the URL of the policy that produced the band."""
    if score_band not in SCORE_BANDS or negative_record_band not in NEGATIVE_RECORD_BANDS:
        raise ValueError("unknown score band or negative-record band")
    _check_amount(affordability_ceiling_minor, currency)
    subject = {
        "id": subject_did,
        "scoreBand": score_band,
        "affordabilityCeilingPerMonth": {"amountMinor": affordability_ceiling_minor, "currency": currency},
        "negativeRecordBand": negative_record_band,
        "asOf": as_of.isoformat(),
        "issuerPolicy": issuer_policy,
    }
    return _credential(
        credential_id=credential_id,
        credential_type="CreditHistoryCredential",
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_status=credential_status,
    )


def build_payment_history_credential(
    *,
    credential_id: str,
    issuer: str,
    subject_did: str,
    on_time_payment_count: int,
    arrears_count: int,
    period_start: date,
    period_end: date,
    valid_from: datetime,
    valid_until: datetime,
    late_payments: list[Mapping[str, Any]] | None = None,
    missed_payments: list[Mapping[str, Any]] | None = None,
    returned_direct_debits: list[Mapping[str, Any]] | None = None,
    current_arrears: list[Mapping[str, Any]] | None = None,
    credential_status: list[Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Payment history the portal kept for a lease: on-time instalments and arrears over a closed period.

    Optional detail claims (each a list, given as built by the caller, dates ISO 8601): ``latePayments`` (instalments
    paid after their due date: ``dueDate``, ``paidOn``, ``daysLate``), ``missedPayments`` (still unpaid after their
    due date: ``dueDate``, ``daysPastDue``), ``returnedDirectDebits`` (``returnedOn``, ISO 20022 ``reasonCode``) and
    ``currentArrears`` (per running contract: ``daysPastDue``, ``bucket``)."""
    for count in (on_time_payment_count, arrears_count):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("payment counts are non-negative integers")
    if period_end < period_start:
        raise ValueError("the period ends before it starts")
    subject: dict[str, Any] = {
        "id": subject_did,
        "onTimePaymentCount": on_time_payment_count,
        "arrearsCount": arrears_count,
        "periodStart": period_start.isoformat(),
        "periodEnd": period_end.isoformat(),
    }
    for name, lines in (
        ("latePayments", late_payments),
        ("missedPayments", missed_payments),
        ("returnedDirectDebits", returned_direct_debits),
        ("currentArrears", current_arrears),
    ):
        if lines is not None:
            subject[name] = [dict(line) for line in lines]
    return _credential(
        credential_id=credential_id,
        credential_type="PaymentHistoryCredential",
        issuer=issuer,
        subject=subject,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_status=credential_status,
    )


def _credential(
    *,
    credential_id: str,
    credential_type: str,
    issuer: str,
    subject: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime,
    credential_status: list[Mapping[str, str]] | None,
) -> dict[str, Any]:
    if valid_until <= valid_from:
        raise ValueError("validUntil must be after validFrom")
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", credential_type],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": subject,
    }
    if credential_status:
        credential["credentialStatus"] = [dict(entry) for entry in credential_status]
    return credential


def _check_amount(amount_minor: int, currency: str) -> None:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 0:
        raise ValueError("amounts are non-negative integers of minor units")
    if not _CURRENCY_PATTERN.match(currency):
        raise ValueError("currency must be an ISO 4217 code")
