"""Meter readings: parsing OCPP sampled values, the signed hash chain, tariffs and the invoice check.

A session's readings form a chain in the order the portal accepted them:

    genesis      = SHA-256("finlab.meter-chain.v1|" + station DID + "|" + transaction id)
    record_hash  = SHA-256(previous hash (32 bytes) || canonical JSON of the reading)
    signature    = Ed25519(station key, record_hash)

Canonical JSON: keys sorted, no whitespace, `measured_at` in UTC ISO 8601 with microseconds. The chain head (the last
record hash) is anchored through identity's anchoring as a salted leaf; any edited, dropped or reordered reading
changes the head, so the invoice check against the anchored leaf fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.money import currency_get, round_money
from identity.credentials.jws import is_valid_ed25519_signature

ENERGY_MEASURAND = "Energy.Active.Import.Register"
WH_PER_KWH = 1000
MICROS_PER_IOTA = 1_000_000


class MeterDataError(ValueError):
    """A reading the gateway refuses; `code` names why (negative, decreasing, unreadable)."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Reading:
    """One energy register value (Wh) at a moment, as reported by the station."""

    measured_at: dt.datetime
    energy_wh: int


@dataclass(frozen=True)
class ChainRecord:
    """A stored reading with its chain fields, as the check reads it back."""

    sequence: int
    measured_at: dt.datetime
    energy_wh: int
    source: str
    previous_hash: str
    record_hash: str
    signature: str


@dataclass(frozen=True)
class ChainCheck:
    """Result of checking a chain: `reason` is "" when valid, else a code; `sequence` is the first bad record."""

    is_valid: bool
    reason: str = ""
    sequence: int | None = None


def parse_timestamp(value: str) -> dt.datetime:
    """An OCPP timestamp (RFC 3339) as an aware datetime; refuses local times without an offset."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError) as error:
        raise MeterDataError(f"unreadable timestamp {value!r}", code="timestamp_invalid") from error
    if moment.tzinfo is None:
        raise MeterDataError(f"timestamp {value!r} has no UTC offset", code="timestamp_invalid")
    return moment.astimezone(dt.UTC)


def energy_to_wh(*, value: str | float | int, unit: str | None) -> int:
    """An energy register value in Wh; `unit` "kWh" is scaled, fractions of a Wh are rounded half up."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise MeterDataError(f"meter value {value!r} is not a number", code="meter_value_invalid") from error
    if not number.is_finite():
        raise MeterDataError(f"meter value {value!r} is not a number", code="meter_value_invalid")
    if unit == "kWh":
        number *= WH_PER_KWH
    elif unit not in (None, "Wh"):
        raise MeterDataError(f"energy unit {unit!r} is not Wh or kWh", code="meter_unit_invalid")
    if number < 0:
        raise MeterDataError(f"meter value {value} is negative", code="meter_reading_negative")
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def readings_from_meter_values(meter_values: Iterable[Mapping[str, object]]) -> list[Reading]:
    """Energy register readings out of OCPP MeterValue objects (1.6 and 2.0.1 share this shape once snake-cased).

    Sampled values of other measurands (power, current, SoC) are ignored; a missing measurand means the energy register
    in both versions.
    """
    readings = []
    for meter_value in meter_values:
        measured_at = parse_timestamp(str(meter_value.get("timestamp", "")))
        for sampled in meter_value.get("sampled_value", []) or []:  # type: ignore[union-attr]
            if sampled.get("measurand", ENERGY_MEASURAND) != ENERGY_MEASURAND:
                continue
            unit = sampled.get("unit") or (sampled.get("unit_of_measure") or {}).get("unit")
            energy = energy_to_wh(value=sampled["value"], unit=unit)
            multiplier = (sampled.get("unit_of_measure") or {}).get("multiplier")
            if multiplier:
                energy = energy * 10 ** int(multiplier)
            readings.append(Reading(measured_at=measured_at, energy_wh=energy))
    return readings


def chain_genesis(*, station_did: str, transaction_id: str) -> str:
    """The hash a session's chain starts from; binds the chain to one station and transaction."""
    return hashlib.sha256(f"finlab.meter-chain.v1|{station_did}|{transaction_id}".encode()).hexdigest()


def canonical_reading(*, sequence: int, measured_at: dt.datetime, energy_wh: int, source: str) -> bytes:
    payload = {
        "energy_wh": energy_wh,
        "measured_at": measured_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "sequence": sequence,
        "source": source,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


def record_hash(*, previous_hash: str, sequence: int, measured_at: dt.datetime, energy_wh: int, source: str) -> str:
    body = canonical_reading(sequence=sequence, measured_at=measured_at, energy_wh=energy_wh, source=source)
    return hashlib.sha256(bytes.fromhex(previous_hash) + body).hexdigest()


def record_sign(*, private_key: Ed25519PrivateKey, record_hash_hex: str) -> str:
    return private_key.sign(bytes.fromhex(record_hash_hex)).hex()


def chain_check(*, records: Sequence[ChainRecord], genesis: str, public_key: bytes, expected_head: str) -> ChainCheck:
    """Recomputes every hash and signature from the genesis; the head must equal `expected_head`."""
    previous = genesis
    for record in records:
        if record.previous_hash != previous:
            return ChainCheck(False, "reading_link_broken", record.sequence)
        computed = record_hash(
            previous_hash=previous,
            sequence=record.sequence,
            measured_at=record.measured_at,
            energy_wh=record.energy_wh,
            source=record.source,
        )
        if computed != record.record_hash:
            return ChainCheck(False, "reading_hash_mismatch", record.sequence)
        signature = bytes.fromhex(record.signature) if len(record.signature) == 128 else b""
        if not is_valid_ed25519_signature(public_key=public_key, signature=signature, message=bytes.fromhex(computed)):
            return ChainCheck(False, "reading_signature_invalid", record.sequence)
        previous = computed
    if previous != expected_head:
        return ChainCheck(False, "chain_head_mismatch")
    return ChainCheck(True)


def anchor_leaf(*, salt_hex: str, chain_head: str) -> str:
    """The salted leaf anchored for a chain head: SHA-256(salt || head); the salt keeps heads unguessable."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + bytes.fromhex(chain_head)).hexdigest()


@dataclass(frozen=True)
class InvoiceAmounts:
    """Minor units of the invoice's currency."""

    energy_amount: int
    idle_amount: int
    total_amount: int


def invoice_amounts(
    *,
    energy_wh: int,
    price_per_kwh: int,
    session_fee: int,
    idle_minutes: int,
    idle_fee_per_minute: int,
    currency: str,
) -> InvoiceAmounts:
    """Energy (Wh) x price per kWh, rounded half up once to minor units, plus the session fee and idle fee."""
    exponent = currency_get(code=currency).exponent
    energy_minor = Decimal(energy_wh) * Decimal(price_per_kwh) / Decimal(WH_PER_KWH)
    energy_amount = round_money(energy_minor.scaleb(-exponent), currency=currency)
    idle_amount = idle_minutes * idle_fee_per_minute
    return InvoiceAmounts(energy_amount, idle_amount, energy_amount + idle_amount + session_fee)


def idle_minutes_count(*, last_increase_at: dt.datetime | None, ended_at: dt.datetime, grace_minutes: int) -> int:
    """Whole minutes the vehicle stayed plugged in after its last energy increase, beyond the grace period."""
    if last_increase_at is None or ended_at <= last_increase_at:
        return 0
    minutes = int((ended_at - last_increase_at).total_seconds() // 60)
    return max(0, minutes - grace_minutes)


def iota_micros(*, amount: int, currency: str, eur_per_iota: Decimal) -> int:
    """The invoice total in micro-IOTA at a EUR/IOTA rate, rounded half up once."""
    major = Decimal(amount).scaleb(-currency_get(code=currency).exponent)
    micros = major / eur_per_iota * MICROS_PER_IOTA
    return int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP))
