"""EMVCo merchant-presented mode (MPM) QR payloads: build and parse.

A payload is a run of TLV data objects: a two-digit ID, a two-digit length and the value, where the length counts
characters (code points), not bytes, so a merchant name in Chinese takes one length unit per character. IDs 26-51
(merchant account information), 62 (additional data), 64 (merchant information in another language) and 80-99
(unreserved) are templates holding TLV objects of their own. The payload starts with "000201" and ends with ID 63,
the CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) over the UTF-8 bytes of everything before the
CRC value, "6304" included, written as four upper-case hex digits.

`emv_payload_parse` checks structure, CRC, mandatory fields and value formats and returns an `EmvPayload`;
`emv_payload_encode` turns an `EmvPayload` back into a payload, so encode -> parse gives the same object. Every
refusal is an `EmvPayloadError` whose `code` is one of: malformed_tlv, crc_mismatch, missing_field,
misplaced_field, duplicate_field, invalid_field, field_too_long, payload_too_long.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from decimal import Decimal

from core.errors import ValidationFailed
from core.money import Money, currency_get

MAX_PAYLOAD_LENGTH = 512
MAX_VALUE_LENGTH = 99
CRC_TAG = "63"
_CRC_PREFIX = CRC_TAG + "04"
_AMOUNT_PATTERN = re.compile(r"\d+(\.\d*)?|\.\d+")
_AMOUNT_MAX_LENGTH = 13

ADDITIONAL_DATA_FIELDS = {
    "01": "bill_number",
    "02": "mobile_number",
    "03": "store_label",
    "04": "loyalty_number",
    "05": "reference_label",
    "06": "customer_label",
    "07": "terminal_label",
    "08": "purpose_of_transaction",
    "09": "additional_consumer_data_request",
}
LANGUAGE_FIELDS = {"00": "language_preference", "01": "merchant_name", "02": "merchant_city"}


class EmvPayloadError(ValidationFailed, ValueError):
    """A payload or field the EMV MPM rules refuse; `code` names the rule and `tag` the data object, if any."""

    code = "malformed_tlv"

    def __init__(self, detail: str, *, code: str, tag: str | None = None) -> None:
        super().__init__(detail, code=code, fields={"tag": tag} if tag else None)
        self.tag = tag


@dataclass(frozen=True)
class TlvField:
    """A primitive data object: two-digit ID and its value."""

    tag: str
    value: str


@dataclass(frozen=True)
class TlvTemplate:
    """A template data object: two-digit ID and the data objects nested in it, in payload order."""

    tag: str
    fields: tuple[TlvField, ...]

    def get(self, tag: str) -> str | None:
        return next((field.value for field in self.fields if field.tag == tag), None)


@dataclass(frozen=True, kw_only=True)
class AdditionalData:
    """ID 62. Sub-IDs 01-09 by name; any other sub-ID (RFU, payment-system templates 50-99) in `other_fields`."""

    bill_number: str | None = None
    mobile_number: str | None = None
    store_label: str | None = None
    loyalty_number: str | None = None
    reference_label: str | None = None
    customer_label: str | None = None
    terminal_label: str | None = None
    purpose_of_transaction: str | None = None
    additional_consumer_data_request: str | None = None
    other_fields: tuple[TlvField, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MerchantLanguage:
    """ID 64: the merchant's name (and city) in another language, e.g. "ZH" with Chinese characters."""

    language_preference: str
    merchant_name: str
    merchant_city: str | None = None
    other_fields: tuple[TlvField, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EmvPayload:
    """A merchant-presented QR payload. `amount` in major units of `currency_numeric` (ISO 4217 numeric)."""

    merchant_accounts: tuple[TlvField | TlvTemplate, ...]
    merchant_category_code: str
    currency_numeric: str
    country_code: str
    merchant_name: str
    merchant_city: str
    amount: Decimal | None = None
    point_of_initiation: str | None = None
    tip_indicator: str | None = None
    convenience_fee_fixed: Decimal | None = None
    convenience_fee_percentage: Decimal | None = None
    postal_code: str | None = None
    additional_data: AdditionalData | None = None
    merchant_language: MerchantLanguage | None = None
    other_fields: tuple[TlvField, ...] = ()
    unreserved_templates: tuple[TlvTemplate, ...] = ()


def emv_crc(data: str) -> str:
    """CRC-16/CCITT-FALSE of the UTF-8 bytes of `data`, as four upper-case hex digits."""
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


def _tlv_split(text: str, *, parent: str | None = None) -> list[TlvField]:
    """Split a run of TLV objects; lengths count characters. Refuses truncated or non-numeric headers."""
    fields, position = [], 0
    while position < len(text):
        tag, length = text[position : position + 2], text[position + 2 : position + 4]
        if not (len(tag) == 2 and tag.isdecimal() and tag.isascii() and length.isdecimal() and length.isascii()):
            raise EmvPayloadError(f"bad TLV header at character {position}", code="malformed_tlv", tag=parent)
        end = position + 4 + int(length)
        if int(length) == 0 or end > len(text):
            raise EmvPayloadError(f"ID {tag} length {length} does not fit", code="malformed_tlv", tag=parent or tag)
        fields.append(TlvField(tag, text[position + 4 : end]))
        position = end
    return fields


def _field(tag: str, value: str) -> str:
    if not (len(tag) == 2 and tag.isdecimal() and tag.isascii()):
        raise EmvPayloadError(f"ID {tag!r} is not two digits", code="invalid_field", tag=tag)
    _check_text(tag, value, max_length=MAX_VALUE_LENGTH)
    return f"{tag}{len(value):02d}{value}"


def _check_text(tag: str, value: str | None, *, max_length: int, exact_digits: int | None = None) -> None:
    if value is None or value == "":
        raise EmvPayloadError(f"ID {tag} is empty", code="missing_field", tag=tag)
    if len(value) > max_length:
        raise EmvPayloadError(f"ID {tag} is longer than {max_length} characters", code="field_too_long", tag=tag)
    if not value.isprintable():
        raise EmvPayloadError(f"ID {tag} holds control characters", code="invalid_field", tag=tag)
    if exact_digits is not None and not (len(value) == exact_digits and value.isdecimal() and value.isascii()):
        raise EmvPayloadError(f"ID {tag} must be {exact_digits} digits", code="invalid_field", tag=tag)


def _check_letters(tag: str, value: str) -> None:
    """ISO 3166 country and ISO 639 language codes: two ASCII letters."""
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise EmvPayloadError(f"ID {tag} must be two letters", code="invalid_field", tag=tag)


def _format_amount(tag: str, value: Decimal) -> str:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise EmvPayloadError(f"ID {tag} must be a positive Decimal", code="invalid_field", tag=tag)
    text = format(value, "f")
    if len(text) > _AMOUNT_MAX_LENGTH:
        raise EmvPayloadError(f"ID {tag} has more than 13 characters", code="field_too_long", tag=tag)
    return text


def _parse_amount(tag: str, text: str) -> Decimal:
    if len(text) > _AMOUNT_MAX_LENGTH or not _AMOUNT_PATTERN.fullmatch(text):
        raise EmvPayloadError(f"ID {tag} is not an amount: {text!r}", code="invalid_field", tag=tag)
    return Decimal(text)


def _template(tag: str, fields: tuple[TlvField, ...]) -> str:
    if not fields:
        raise EmvPayloadError(f"template {tag} is empty", code="missing_field", tag=tag)
    _check_unique([field.tag for field in fields])
    body = "".join(_field(field.tag, field.value) for field in fields)
    if len(body) > MAX_VALUE_LENGTH:
        raise EmvPayloadError(f"template {tag} is longer than 99 characters", code="field_too_long", tag=tag)
    return f"{tag}{len(body):02d}{body}"


def _named_fields(names: dict[str, str], source: object, other: tuple[TlvField, ...]) -> tuple[TlvField, ...]:
    named = tuple(
        TlvField(tag, getattr(source, name)) for tag, name in names.items() if getattr(source, name) is not None
    )
    for field in other:
        if field.tag in names:
            raise EmvPayloadError(f"sub-ID {field.tag} has a named attribute", code="invalid_field", tag=field.tag)
    return named + other


def _encode_merchant_account(account: TlvField | TlvTemplate) -> str:
    number = int(account.tag) if account.tag.isdecimal() else -1
    if isinstance(account, TlvField) and 2 <= number <= 25:
        return _field(account.tag, account.value)
    if isinstance(account, TlvTemplate) and 26 <= number <= 51:
        if not account.get("00"):
            raise EmvPayloadError(f"template {account.tag} lacks its ID 00", code="missing_field", tag=account.tag)
        return _template(account.tag, account.fields)
    raise EmvPayloadError(
        f"ID {account.tag} is not merchant account information", code="invalid_field", tag=account.tag
    )


def _check_unique(tags: list[str]) -> None:
    duplicates = sorted({tag for tag in tags if tags.count(tag) > 1})
    if duplicates:
        raise EmvPayloadError(f"ID {duplicates[0]} appears twice", code="duplicate_field", tag=duplicates[0])


def _encode_fees(payload: EmvPayload) -> list[str]:
    indicator = payload.tip_indicator
    if indicator not in (None, "01", "02", "03"):
        raise EmvPayloadError("ID 55 must be 01, 02 or 03", code="invalid_field", tag="55")
    if (payload.convenience_fee_fixed is not None) != (indicator == "02"):
        raise EmvPayloadError("ID 56 goes with ID 55 = 02 and only then", code="invalid_field", tag="56")
    if (payload.convenience_fee_percentage is not None) != (indicator == "03"):
        raise EmvPayloadError("ID 57 goes with ID 55 = 03 and only then", code="invalid_field", tag="57")
    parts = [_field("55", indicator)] if indicator else []
    if payload.convenience_fee_fixed is not None:
        parts.append(_field("56", _format_amount("56", payload.convenience_fee_fixed)))
    if payload.convenience_fee_percentage is not None:
        parts.append(_field("57", _format_amount("57", payload.convenience_fee_percentage)))
    return parts


def _encode_templates(payload: EmvPayload) -> list[str]:
    parts = []
    if payload.additional_data is not None:
        data = payload.additional_data
        parts.append(_template("62", _named_fields(ADDITIONAL_DATA_FIELDS, data, data.other_fields)))
    if payload.merchant_language is not None:
        language = payload.merchant_language
        _check_text("6400", language.language_preference, max_length=2)
        _check_letters("6400", language.language_preference)
        _check_text("6401", language.merchant_name, max_length=25)
        if language.merchant_city is not None:
            _check_text("6402", language.merchant_city, max_length=15)
        parts.append(_template("64", _named_fields(LANGUAGE_FIELDS, language, language.other_fields)))
    for field in payload.other_fields:
        if not (field.tag.isdecimal() and 65 <= int(field.tag) <= 79):
            raise EmvPayloadError(f"ID {field.tag} is not a reserved ID", code="invalid_field", tag=field.tag)
        parts.append(_field(field.tag, field.value))
    for template in payload.unreserved_templates:
        if not (template.tag.isdecimal() and 80 <= int(template.tag) <= 99):
            raise EmvPayloadError(f"ID {template.tag} is not unreserved", code="invalid_field", tag=template.tag)
        parts.append(_template(template.tag, template.fields))
    return parts


def emv_payload_encode(payload: EmvPayload) -> str:
    """The QR payload text for `payload`, IDs in ascending order, CRC appended. Refuses what the parser would."""
    if not payload.merchant_accounts:
        raise EmvPayloadError("at least one merchant account (ID 02-51) is needed", code="missing_field", tag="26")
    if payload.point_of_initiation not in (None, "11", "12"):
        raise EmvPayloadError("ID 01 must be 11 (static) or 12 (dynamic)", code="invalid_field", tag="01")
    _check_unique([account.tag for account in payload.merchant_accounts])
    _check_unique([field.tag for field in payload.other_fields] + [t.tag for t in payload.unreserved_templates])
    _check_text("52", payload.merchant_category_code, max_length=4, exact_digits=4)
    _check_text("53", payload.currency_numeric, max_length=3, exact_digits=3)
    _check_text("58", payload.country_code, max_length=2)
    _check_letters("58", payload.country_code)
    _check_text("59", payload.merchant_name, max_length=25)
    _check_text("60", payload.merchant_city, max_length=15)
    parts = [_field("00", "01")]
    if payload.point_of_initiation:
        parts.append(_field("01", payload.point_of_initiation))
    parts += [_encode_merchant_account(account) for account in payload.merchant_accounts]
    parts += [_field("52", payload.merchant_category_code), _field("53", payload.currency_numeric)]
    if payload.amount is not None:
        parts.append(_field("54", _format_amount("54", payload.amount)))
    parts += _encode_fees(payload)
    parts += [_field(tag, value) for tag, value in (("58", payload.country_code), ("59", payload.merchant_name))]
    parts.append(_field("60", payload.merchant_city))
    if payload.postal_code is not None:
        _check_text("61", payload.postal_code, max_length=10)
        parts.append(_field("61", payload.postal_code))
    parts += _encode_templates(payload)
    body = "".join(parts) + _CRC_PREFIX
    if len(body) + 4 > MAX_PAYLOAD_LENGTH:
        raise EmvPayloadError("payload is longer than 512 characters", code="payload_too_long")
    return body + emv_crc(body)


def emv_invoice_payload(
    *,
    merchant_accounts: tuple[TlvField | TlvTemplate, ...],
    merchant_category_code: str,
    country_code: str,
    merchant_name: str,
    merchant_city: str,
    amount: Money,
    reference_label: str | None = None,
) -> str:
    """A dynamic (single-use, ID 01 = 12) payload asking for `amount`, with an optional reference in ID 62/05."""
    currency = currency_get(code=amount.currency)
    return emv_payload_encode(
        EmvPayload(
            merchant_accounts=merchant_accounts,
            merchant_category_code=merchant_category_code,
            currency_numeric=currency.numeric,
            country_code=country_code,
            merchant_name=merchant_name,
            merchant_city=merchant_city,
            amount=amount.to_decimal(),
            point_of_initiation="12",
            additional_data=AdditionalData(reference_label=reference_label) if reference_label else None,
        )
    )


def _nested(field: TlvField) -> tuple[TlvField, ...]:
    children = tuple(_tlv_split(field.value, parent=field.tag))
    _check_unique([child.tag for child in children])
    return children


def _named_template(field: TlvField, names: dict[str, str]) -> tuple[dict[str, str], tuple[TlvField, ...]]:
    children = _nested(field)
    named = {names[child.tag]: child.value for child in children if child.tag in names}
    return named, tuple(child for child in children if child.tag not in names)


def _check_frame(payload: str, fields: list[TlvField]) -> None:
    if fields[0].tag != "00" or fields[0].value != "01":
        raise EmvPayloadError("a payload starts with ID 00 = 01", code="misplaced_field", tag="00")
    if fields[-1].tag != CRC_TAG:
        code = "misplaced_field" if any(field.tag == CRC_TAG for field in fields) else "missing_field"
        raise EmvPayloadError("a payload ends with the CRC, ID 63", code=code, tag=CRC_TAG)
    crc = fields[-1].value
    if len(crc) != 4 or not re.fullmatch(r"[0-9A-Fa-f]{4}", crc):
        raise EmvPayloadError("ID 63 holds four hex digits", code="invalid_field", tag=CRC_TAG)
    expected = emv_crc(payload[:-4])
    if crc.upper() != expected:
        raise EmvPayloadError(f"CRC is {crc}, the payload gives {expected}", code="crc_mismatch", tag=CRC_TAG)


def emv_payload_parse(payload: str) -> EmvPayload:
    """Check a scanned payload (structure, CRC, mandatory IDs, formats) and return its fields."""
    if not isinstance(payload, str) or not payload:
        raise EmvPayloadError("payload must be non-empty text", code="malformed_tlv")
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise EmvPayloadError("payload is longer than 512 characters", code="payload_too_long")
    fields = _tlv_split(payload)
    _check_frame(payload, fields)
    _check_unique([field.tag for field in fields])
    repeated: dict[str, list[object]] = {"merchant_accounts": [], "other_fields": [], "unreserved_templates": []}
    single: dict[str, object] = {}
    for field in fields[1:-1]:
        name, value = _interpret(field)
        if name in repeated:
            repeated[name].append(value)
        else:
            single[name] = value
    for tag, name in _MANDATORY_FIELDS.items():
        if name not in single:
            raise EmvPayloadError(f"mandatory ID {tag} is missing", code="missing_field", tag=tag)
    parsed = EmvPayload(**single, **{name: tuple(items) for name, items in repeated.items()})  # type: ignore[arg-type]
    emv_payload_encode(parsed)  # the same value rules as for payloads the portal builds
    return parsed


_SIMPLE_FIELDS = {
    "01": "point_of_initiation",
    "52": "merchant_category_code",
    "53": "currency_numeric",
    "55": "tip_indicator",
    "58": "country_code",
    "59": "merchant_name",
    "60": "merchant_city",
    "61": "postal_code",
}
_AMOUNT_FIELDS = {"54": "amount", "56": "convenience_fee_fixed", "57": "convenience_fee_percentage"}
_MANDATORY_FIELDS = {
    "52": "merchant_category_code",
    "53": "currency_numeric",
    "58": "country_code",
    "59": "merchant_name",
    "60": "merchant_city",
}


def _interpret(field: TlvField) -> tuple[str, object]:
    """The `EmvPayload` attribute a top-level data object belongs to, and its typed value."""
    number = int(field.tag)
    if field.tag in _SIMPLE_FIELDS:
        return _SIMPLE_FIELDS[field.tag], field.value
    if field.tag in _AMOUNT_FIELDS:
        return _AMOUNT_FIELDS[field.tag], _parse_amount(field.tag, field.value)
    if 2 <= number <= 25:
        return "merchant_accounts", field
    if 26 <= number <= 51:
        return "merchant_accounts", TlvTemplate(field.tag, _nested(field))
    if number == 62:
        named, other = _named_template(field, ADDITIONAL_DATA_FIELDS)
        return "additional_data", AdditionalData(**named, other_fields=other)
    if number == 64:
        named, other = _named_template(field, LANGUAGE_FIELDS)
        if "language_preference" not in named or "merchant_name" not in named:
            raise EmvPayloadError("template 64 needs IDs 00 and 01", code="missing_field", tag="64")
        return "merchant_language", MerchantLanguage(**named, other_fields=other)
    if 80 <= number <= 99:
        return "unreserved_templates", TlvTemplate(field.tag, _nested(field))
    return "other_fields", field
