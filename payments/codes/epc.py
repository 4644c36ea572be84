"""EPC069-12 SEPA credit-transfer QR codes ("GiroCode"): payload build and parse, RF creditor references, IBANs.

A payload is up to 12 lines separated by LF, at most 331 bytes of UTF-8:

    BCD / 002 / 1 (UTF-8) / SCT / BIC (optional in 002) / beneficiary name / IBAN / "EUR12.30" /
    purpose code / structured creditor reference / unstructured remittance text / note to the payer

Only one of the two remittance lines may be filled. Trailing empty lines are left out. A `CreditTransfer` is
validated when it is made (IBAN check digits and country format, BIC, amount range, ISO 11649 RF references), so
`epc_payload_build` and `epc_payload_parse` never see a transfer that a banking app would refuse. Refusals are
`EpcPayloadError` with a machine-readable `code`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import segno
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum import iso11649 as stdnum_iso11649
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.iso7064 import mod_97_10

from core.errors import ValidationFailed
from core.money import Money

SERVICE_TAG = "BCD"
VERSION = "002"
SUPPORTED_VERSIONS = ("001", "002")
CHARACTER_SET_UTF8 = "1"
IDENTIFICATION = "SCT"
MAX_PAYLOAD_BYTES = 331
MAX_QR_VERSION = 13
MIN_AMOUNT, MAX_AMOUNT = 1, 99_999_999_999  # EUR 0.01 to EUR 999,999,999.99, in cents
_AMOUNT_PATTERN = re.compile(r"EUR(\d{1,9}(?:\.\d{1,2})?)")
_PURPOSE_PATTERN = re.compile(r"[A-Z]{4}")
_RF_BODY_PATTERN = re.compile(r"[0-9A-Z]{1,21}")
_RF_PATTERN = re.compile(r"RF\d{2}[0-9A-Z]{1,21}")
_TEXT_LIMITS = {"beneficiary_name": 70, "creditor_reference": 35, "remittance_text": 140, "information": 70}


class EpcPayloadError(ValidationFailed, ValueError):
    """A payload, transfer or reference the EPC069-12 / ISO 13616 / ISO 11649 rules refuse; see `code`."""

    code = "malformed_payload"


def rf_reference_create(*, reference: str) -> str:
    """An ISO 11649 creditor reference ("RF" + two check digits + up to 21 letters/digits) for `reference`.

    Spaces are dropped and letters upper-cased: rf_reference_create(reference="539007547034") == "RF18539007547034".
    The check digits are ISO 7064 MOD 97-10 over the body followed by "RF", as python-stdnum computes them.
    """
    body = reference.replace(" ", "").upper()
    if not _RF_BODY_PATTERN.fullmatch(body):
        raise EpcPayloadError("a reference is 1 to 21 letters or digits", code="invalid_creditor_reference")
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def rf_reference_validate(reference: str) -> str:
    """The compact form of an ISO 11649 reference if its MOD 97 check holds ("RF18 5390 0754 7034" -> compact).

    python-stdnum's `iso11649` checks length, prefix and check digits; the alphabet (letters and digits only, no
    separators other than spaces) is this portal's own, narrower rule for what goes into an EPC payload."""
    compact = reference.replace(" ", "").upper()
    if not _RF_PATTERN.fullmatch(compact):
        raise EpcPayloadError(f"{reference!r} is not a valid RF creditor reference", code="invalid_creditor_reference")
    try:
        return stdnum_iso11649.validate(compact)
    except StdnumValidationError:
        raise EpcPayloadError(
            f"{reference!r} is not a valid RF creditor reference", code="invalid_creditor_reference"
        ) from None


def rf_reference_is_valid(reference: str) -> bool:
    try:
        rf_reference_validate(reference)
    except EpcPayloadError:
        return False
    return True


def iban_validate(iban: str) -> str:
    """The compact IBAN (no spaces, upper case) if its length, country format and check digits are right."""
    try:
        return stdnum_iban.validate(iban)
    except StdnumValidationError:
        raise EpcPayloadError(f"{iban!r} is not a valid IBAN", code="invalid_iban") from None


def bic_validate(bic: str) -> str:
    """The compact BIC (8 or 11 characters, ISO 9362) if well-formed."""
    try:
        return stdnum_bic.validate(bic)
    except StdnumValidationError:
        raise EpcPayloadError(f"{bic!r} is not a valid BIC", code="invalid_bic") from None


def _check_text(name: str, value: str | None) -> None:
    if value is None:
        return
    if value == "" or value != value.strip():
        raise EpcPayloadError(f"{name} is empty or has surrounding spaces", code="invalid_field")
    if len(value) > _TEXT_LIMITS[name]:
        raise EpcPayloadError(f"{name} exceeds {_TEXT_LIMITS[name]} characters", code="field_too_long")
    if not value.isprintable():
        raise EpcPayloadError(f"{name} holds line breaks or control characters", code="invalid_field")


@dataclass(frozen=True, kw_only=True)
class CreditTransfer:
    """A SEPA credit transfer to propose to the payer. `amount` in EUR minor units; None lets the payer choose."""

    beneficiary_name: str
    iban: str
    amount: Money | None = None
    bic: str | None = None
    purpose: str | None = None
    creditor_reference: str | None = None
    remittance_text: str | None = None
    information: str | None = None

    def __post_init__(self) -> None:
        if not self.beneficiary_name:
            raise EpcPayloadError("the beneficiary name is mandatory", code="missing_field")
        for name in _TEXT_LIMITS:
            _check_text(name, getattr(self, name))
        object.__setattr__(self, "iban", iban_validate(self.iban))
        if self.bic is not None:
            object.__setattr__(self, "bic", bic_validate(self.bic))
        if self.amount is not None and (
            self.amount.currency != "EUR" or not MIN_AMOUNT <= self.amount.amount <= MAX_AMOUNT
        ):
            raise EpcPayloadError("the amount must be EUR 0.01 to 999,999,999.99", code="invalid_amount")
        if self.purpose is not None and not _PURPOSE_PATTERN.fullmatch(self.purpose):
            raise EpcPayloadError("a purpose code is four capital letters", code="invalid_purpose")
        if self.creditor_reference is not None and self.remittance_text is not None:
            raise EpcPayloadError(
                "give a creditor reference or a remittance text, not both", code="remittance_conflict"
            )
        if self.creditor_reference is not None and self.creditor_reference.upper().startswith("RF"):
            object.__setattr__(self, "creditor_reference", rf_reference_validate(self.creditor_reference))


def epc_payload_build(transfer: CreditTransfer) -> str:
    """The EPC069-12 version 002 payload (UTF-8, SCT) for `transfer`; amounts always carry two decimals."""
    amount = f"EUR{transfer.amount.to_decimal()}" if transfer.amount is not None else ""
    lines = [
        SERVICE_TAG,
        VERSION,
        CHARACTER_SET_UTF8,
        IDENTIFICATION,
        transfer.bic or "",
        transfer.beneficiary_name,
        transfer.iban,
        amount,
        transfer.purpose or "",
        transfer.creditor_reference or "",
        transfer.remittance_text or "",
        transfer.information or "",
    ]
    while lines[-1] == "":
        lines.pop()
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise EpcPayloadError("the payload exceeds 331 bytes", code="payload_too_long")
    return payload


def _parse_amount(text: str) -> Money | None:
    if text == "":
        return None
    match = _AMOUNT_PATTERN.fullmatch(text)
    if match is None:
        raise EpcPayloadError(f"{text!r} is not an amount like EUR12.30", code="invalid_amount")
    return Money.from_decimal(Decimal(match.group(1)), "EUR")


def _check_header(lines: list[str]) -> None:
    if len(lines) < 7 or len(lines) > 12:
        raise EpcPayloadError("an EPC payload has 7 to 12 lines", code="malformed_payload")
    if lines[0] != SERVICE_TAG:
        raise EpcPayloadError("an EPC payload starts with BCD", code="malformed_payload")
    if lines[1] not in SUPPORTED_VERSIONS:
        raise EpcPayloadError(f"version {lines[1]!r} is not 001 or 002", code="unsupported_version")
    if lines[2] != CHARACTER_SET_UTF8:
        raise EpcPayloadError(f"character set {lines[2]!r} is not 1 (UTF-8)", code="unsupported_character_set")
    if lines[3] != IDENTIFICATION:
        raise EpcPayloadError(f"identification {lines[3]!r} is not SCT", code="unsupported_identification")
    if lines[1] == "001" and not lines[4]:
        raise EpcPayloadError("version 001 requires a BIC", code="missing_field")


def epc_payload_parse(payload: str) -> CreditTransfer:
    """Read an EPC069-12 payload (version 001 or 002, UTF-8, LF or CRLF) into a validated `CreditTransfer`."""
    if not isinstance(payload, str):
        raise EpcPayloadError("an EPC payload is text", code="malformed_payload")
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise EpcPayloadError("the payload exceeds 331 bytes", code="payload_too_long")
    lines = [line.strip() for line in payload.replace("\r\n", "\n").split("\n")]
    _check_header(lines)
    lines += [""] * (12 - len(lines))
    return CreditTransfer(
        bic=lines[4] or None,
        beneficiary_name=lines[5],
        iban=lines[6],
        amount=_parse_amount(lines[7]),
        purpose=lines[8] or None,
        creditor_reference=lines[9] or None,
        remittance_text=lines[10] or None,
        information=lines[11] or None,
    )


def epc_qr_code(payload: str) -> segno.QRCode:
    """The QR symbol for an EPC payload: error correction level M, version 13 at most, as EPC069-12 requires."""
    epc_payload_parse(payload)
    qr_code = segno.make(payload, error="m", boost_error=False, micro=False, encoding="utf-8")
    if qr_code.version > MAX_QR_VERSION:
        raise EpcPayloadError("the payload needs a QR version above 13", code="payload_too_long")
    return qr_code


def epc_qr_svg(payload: str) -> str:
    """Inline SVG markup of the EPC QR code for `payload`, four light modules of quiet zone included."""
    return epc_qr_code(payload).svg_inline(scale=4, title="SEPA credit transfer QR code")
