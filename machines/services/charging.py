"""What the OCPP gateway records: station connections, authorisations, sessions and their signed meter readings.

Every function here is called once per OCPP message, in its own database transaction (meter values, and the batched
connections and boots, also for many messages in one), and is safe to call again with the same message (a station
repeats messages after a reconnect): a repeated start returns the first transaction, a repeated reading or stop
changes nothing, a contradicting one is refused with a named code and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from core.errors import ApplicationError
from core.outbox import outbox_write
from machines import metering, wallets
from machines.errors import ChargingRefused, TransactionConflict, TransactionUnknown
from machines.identities import machine_private_key_open
from machines.models import (
    ChargingInvoice,
    ChargingSession,
    ChargingStation,
    Connector,
    MachinePayment,
    MeterReading,
    SessionStatus,
    StationReview,
    StationStatus,
    StationTariff,
    Vehicle,
    VehicleOperatorApproval,
)
from machines.services.id_token_guard import id_token_answers_locked, id_token_refusal_record
from payments.ledger.client import LedgerRefused

logger = logging.getLogger(__name__)

# Table names from the models' metadata, for the statements written as SQL here; every value is a parameter.
_SESSIONS, _READINGS = ChargingSession._meta.db_table, MeterReading._meta.db_table
_STATIONS, _APPROVALS = ChargingStation._meta.db_table, VehicleOperatorApproval._meta.db_table
_INVOICES, _PAYMENTS = ChargingInvoice._meta.db_table, MachinePayment._meta.db_table

FAULTED_CONNECTOR_STATES = frozenset({"Faulted"})
CHARGING_CONNECTOR_STATES = frozenset({"Charging", "Occupied", "SuspendedEV", "SuspendedEVSE"})


class AuthorizationStatus(enum.StrEnum):
    """Outcome of presenting an id token; the gateway maps it to each OCPP version's enumeration.

    INVALID is the one answer for a tag that is unknown, whose owner has not approved the station's operator, at a
    station back office has not approved, or while the station or its operator is locked out for too many refusals:
    a station cannot tell these apart. The finer answers (BLOCKED, TARIFF_ABOVE_CEILING, NO_CREDIT, CONCURRENT) go
    only to stations of operators the owner approved.
    """

    ACCEPTED = "accepted"
    INVALID = "invalid"
    BLOCKED = "blocked"
    TARIFF_ABOVE_CEILING = "tariff_above_ceiling"
    NO_CREDIT = "no_credit"
    CONCURRENT = "concurrent"


@dataclass(frozen=True)
class StartOutcome:
    """`transaction_id` is empty when the start was refused (no session, no hold)."""

    status: AuthorizationStatus
    transaction_id: str = ""


def station_connected(*, station_id: str, connection_id: str, ocpp_version: str) -> None:
    """Marks the station online on this connection (a newer connection replaces an older one)."""
    stations_connected_record(connections=[(station_id, connection_id, ocpp_version)])


def stations_connected_record(*, connections: Sequence[tuple[str, str, str]]) -> None:
    """`station_connected` for many (station id, connection id, OCPP version) at once, in one statement (a restart
    storm's connections are recorded together); of two connections of one station, the later one listed wins."""
    latest = {station_id: (connection_id, version) for station_id, connection_id, version in connections}
    if not latest:
        return
    if connection.vendor != "postgresql":
        _stations_connected_record_portable(latest=latest)
        return
    # Each row its own values from a VALUES list: building a CASE of hundreds of branches through the ORM cost more
    # CPU than the statement itself.
    rows = ", ".join(["(%s, %s, %s)"] * len(latest))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_STATIONS} AS station SET is_connected = TRUE, connection_id = given.connection_id,"  # noqa: S608
            " ocpp_version = given.ocpp_version, last_seen_at = %s"
            f" FROM (VALUES {rows}) AS given (station_id, connection_id, ocpp_version)"
            " WHERE station.station_id = given.station_id",
            [
                timezone.now(),
                *(value for station_id, (cid, version) in latest.items() for value in (station_id, cid, version)),
            ],
        )


def _stations_connected_record_portable(*, latest: Mapping[str, tuple[str, str]]) -> None:
    versions: dict[str, list[str]] = {}
    for station_id, (_, version) in latest.items():
        versions.setdefault(version, []).append(station_id)
    ChargingStation.objects.filter(station_id__in=list(latest)).update(
        is_connected=True,
        connection_id=Case(
            *(
                When(station_id=station_id, then=Value(connection_id))
                for station_id, (connection_id, _) in latest.items()
            )
        ),
        ocpp_version=Case(*(When(station_id__in=ids, then=Value(version)) for version, ids in versions.items())),
        last_seen_at=timezone.now(),
    )


def station_disconnected(*, station_id: str, connection_id: str) -> None:
    """Marks the station offline unless it has already reconnected on a newer connection."""
    stations_disconnected_record(disconnections=[(station_id, connection_id)])


def stations_disconnected_record(*, disconnections: Sequence[tuple[str, str]]) -> None:
    """`station_disconnected` for many (station id, connection id) at once, in one statement (thousands of stations
    leave together when a network link drops). Connection ids are random and never reused, so a station is marked
    offline only by the end of the connection it is marked online on."""
    if not disconnections:
        return
    ChargingStation.objects.filter(
        station_id__in={station_id for station_id, _ in disconnections},
        connection_id__in={connection_id for _, connection_id in disconnections if connection_id},
    ).update(is_connected=False, connection_id="")


def station_boot_record(*, station_id: str, vendor: str, model: str, firmware_version: str) -> None:
    stations_boot_record(boots=[(station_id, vendor, model, firmware_version)])


def stations_boot_record(*, boots: Sequence[tuple[str, str, str, str]]) -> None:
    """`station_boot_record` for many (station id, vendor, model, firmware version) at once (a restart storm's
    BootNotifications): one statement per distinct vendor, model and firmware, which a fleet shares; of two boots of
    one station, the later one listed wins."""
    latest = {station_id: (vendor[:50], model[:50], firmware[:50]) for station_id, vendor, model, firmware in boots}
    kinds: dict[tuple[str, str, str], list[str]] = {}
    for station_id, kind in latest.items():
        kinds.setdefault(kind, []).append(station_id)
    now = timezone.now()
    for (vendor, model, firmware_version), station_ids in kinds.items():
        ChargingStation.objects.filter(station_id__in=station_ids).update(
            vendor=vendor,
            model=model,
            firmware_version=firmware_version,
            last_seen_at=now,
            status=StationStatus.AVAILABLE,
        )


def stations_last_seen_record(*, seen: Mapping[str, dt.datetime]) -> None:
    """The heartbeats of many stations in one statement (the gateway collects them for a few seconds): each station's
    "last seen" becomes the latest of those moments unless something later was already recorded. "Last seen" is
    shown to people; nothing is billed or decided on it."""
    if not seen:
        return
    ChargingStation.objects.filter(station_id__in=list(seen)).update(
        last_seen_at=Greatest(F("last_seen_at"), Value(max(seen.values())))
    )


@transaction.atomic
def connector_status_record(*, station_id: str, connector_id: int, status: str, error_code: str = "NoError") -> None:
    """Stores a connector's state and derives the station's: faulted beats charging beats available."""
    station = ChargingStation.objects.select_for_update().get(station_id=station_id)
    if connector_id > 0:
        Connector.objects.update_or_create(
            station=station, connector_id=connector_id, defaults={"status": status, "error_code": error_code[:50]}
        )
    states = set(Connector.objects.filter(station=station).values_list("status", flat=True))
    if connector_id == 0:
        states.add(status)
    if states & FAULTED_CONNECTOR_STATES:
        station_status = StationStatus.FAULTED
    elif states & CHARGING_CONNECTOR_STATES:
        station_status = StationStatus.CHARGING
    else:
        station_status = StationStatus.AVAILABLE
    ChargingStation.objects.filter(pk=station.pk).update(status=station_status, last_seen_at=timezone.now())


def _start_of_day(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# Minor units a vehicle committed since the start of the day: holds of open and ended sessions, charges of settled
# ones, machine payments. Parameters: vehicle, day, active, ended (holds); vehicle, day, settled (charges); vehicle,
# day (payments).
_SPENT_TODAY_SQL = (
    f"COALESCE((SELECT SUM(s.hold_amount) FROM {_SESSIONS} AS s"  # noqa: S608 - names from the models' metadata
    " WHERE s.vehicle_id = %s AND s.started_at >= %s AND s.status IN (%s, %s)), 0)"
    f" + COALESCE((SELECT SUM(i.charged_amount) FROM {_SESSIONS} AS s JOIN {_INVOICES} AS i"
    " ON i.session_id = s.id WHERE s.vehicle_id = %s AND s.started_at >= %s AND s.status = %s), 0)"
    f" + COALESCE((SELECT SUM(p.amount) FROM {_PAYMENTS} AS p WHERE p.vehicle_id = %s AND p.created_at >= %s), 0)"
)
# What authorising a vehicle at a station reads (`_vehicle_facts`). Parameters: vehicle, operator (approval);
# vehicle, active (a session charging); station, start key (the start's earlier copy); then today's spending.
_VEHICLE_FACTS_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {_APPROVALS} AS a"  # noqa: S608 - names from the models' metadata
    " WHERE a.vehicle_id = %s AND a.operator_id = %s AND a.revoked_at IS NULL),"
    f" EXISTS (SELECT 1 FROM {_SESSIONS} AS s WHERE s.vehicle_id = %s AND s.status = %s),"
    f" (SELECT s.transaction_id FROM {_SESSIONS} AS s WHERE s.station_id = %s AND s.start_key = %s LIMIT 1),"
    f" {_SPENT_TODAY_SQL}"
)


def _spent_today_parameters(*, vehicle_id: int, now: dt.datetime) -> list[Any]:
    day = connection.ops.adapt_datetimefield_value(_start_of_day(now))
    active, ended, settled = SessionStatus.ACTIVE, SessionStatus.ENDED, SessionStatus.SETTLED
    return [vehicle_id, day, active, ended, vehicle_id, day, settled, vehicle_id, day]


def vehicle_spent_today(*, vehicle: Vehicle, now: dt.datetime) -> int:
    """Minor units committed today (UTC): holds of open sessions, charges of settled ones, machine payments."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_SPENT_TODAY_SQL}", _spent_today_parameters(vehicle_id=vehicle.pk, now=now))
        return int(cursor.fetchone()[0])


def station_tariff_current(*, station: ChargingStation) -> StationTariff:
    """The station's tariff version in force now (the highest)."""
    return StationTariff.objects.filter(station=station).order_by("-version").first()  # type: ignore[return-value]


def tariff_exceeds_ceiling(*, vehicle: Vehicle, tariff: StationTariff) -> bool:
    """True when any part of the tariff is above the owner's ceiling for it (or in another currency)."""
    return (
        tariff.currency != vehicle.currency
        or tariff.price_per_kwh > vehicle.max_price_per_kwh
        or tariff.session_fee > vehicle.max_session_fee
        or tariff.idle_fee_per_minute > vehicle.max_idle_fee_per_minute
    )


@dataclass(frozen=True)
class _VehicleFacts:
    """What authorising a vehicle at a station reads of the database, in one statement (`_vehicle_facts`)."""

    operator_approved: bool
    spent_today: int
    charging: bool
    """It has an active session (at any station)."""
    started_transaction_id: str | None
    """The transaction id of the session this station already started with the start's key, if any."""


def _vehicle_facts(
    *, vehicle: Vehicle, station: ChargingStation, now: dt.datetime, start_key: str | None = None
) -> _VehicleFacts:
    """The operator approval, today's spending, an active session and (for a start) the session the same start
    already opened, read in one statement of fixed text (`_VEHICLE_FACTS_SQL`) instead of six: under load the
    gateway's stations wait for its CPU, which went mostly into building statements (the ORM's form of this one, with
    its five subqueries, cost more than the six it replaced). Read after the vehicle's lock where the caller holds it,
    so a start that waited for the lock sees what the one before it committed."""
    parameters = [vehicle.pk, station.operator_id, vehicle.pk, SessionStatus.ACTIVE, station.pk, start_key or ""]
    with connection.cursor() as cursor:
        cursor.execute(_VEHICLE_FACTS_SQL, parameters + _spent_today_parameters(vehicle_id=vehicle.pk, now=now))
        approved, charging, started_transaction_id, spent_today = cursor.fetchone()
    return _VehicleFacts(
        bool(approved), int(spent_today), bool(charging), started_transaction_id if start_key is not None else None
    )


def _authorization_status(
    *, station: ChargingStation, vehicle: Vehicle | None, tariff: StationTariff, facts: _VehicleFacts | None
) -> AuthorizationStatus:
    """Checks in a fixed order; everything up to the operator approval answers INVALID alike. `facts` are
    `_vehicle_facts` of the vehicle (None when there is no vehicle)."""
    if station.review_status != StationReview.APPROVED or not station.is_active:
        return AuthorizationStatus.INVALID
    if vehicle is None or facts is None or not facts.operator_approved:
        return AuthorizationStatus.INVALID
    if not vehicle.is_active:
        return AuthorizationStatus.BLOCKED
    if tariff_exceeds_ceiling(vehicle=vehicle, tariff=tariff):
        return AuthorizationStatus.TARIFF_ABOVE_CEILING
    if facts.spent_today + vehicle.session_limit > vehicle.daily_limit:
        return AuthorizationStatus.NO_CREDIT
    if wallets.wallet_balance_get(account_id=vehicle.wallet_account_id).available < vehicle.session_limit:
        return AuthorizationStatus.NO_CREDIT
    return AuthorizationStatus.ACCEPTED


def _answer_recorded(*, station: ChargingStation, status: AuthorizationStatus) -> AuthorizationStatus:
    if status is not AuthorizationStatus.ACCEPTED:
        logger.info("station %s: id token refused (%s)", station.station_id, status.value)
        id_token_refusal_record(station_pk=station.pk, operator_pk=station.operator_id)
    return status


def id_token_authorize(*, station_id: str, id_token: str) -> AuthorizationStatus:
    """Whether the vehicle behind `id_token` may start a session at this station now: the station approved by back
    office, its operator approved by the vehicle's owner, the tariff within the owner's ceilings, the vehicle active
    and able to cover the hold. Refused answers count towards the station's and operator's lockout."""
    station = _station_get(station_id)
    if id_token_answers_locked(station_pk=station.pk, operator_pk=station.operator_id):
        logger.info("station %s: id token refused (locked out)", station.station_id)
        return AuthorizationStatus.INVALID
    vehicle = Vehicle.objects.filter(id_token=id_token).first()
    facts = None if vehicle is None else _vehicle_facts(vehicle=vehicle, station=station, now=timezone.now())
    status = _authorization_status(
        station=station, vehicle=vehicle, tariff=station_tariff_current(station=station), facts=facts
    )
    return _answer_recorded(station=station, status=status)


def _station_get(station_id: str) -> ChargingStation:
    return ChargingStation.objects.select_related("operator").get(station_id=station_id)


@transaction.atomic
def charging_session_start(
    *,
    station_id: str,
    connector_id: int,
    id_token: str,
    started_at: dt.datetime,
    start_key: str,
    ocpp_version: str,
    transaction_id: str = "",
    readings: Sequence[metering.Reading] = (),
) -> StartOutcome:
    """Opens a session and places the hold (the vehicle's session limit) on its wallet.

    The same checks as `id_token_authorize` run first, so a refused start places no hold and writes no row. The
    session is priced by the tariff version current now. OCPP 1.6 lets the portal choose the transaction id (the
    session's number); 2.0.1 stations bring their own. A repeated start (same `start_key`) returns the first outcome
    without a second hold. `readings` (the register at the start) open the session's meter chain.
    """
    station = _station_get(station_id)
    vehicle = Vehicle.objects.select_for_update().filter(id_token=id_token).first()
    if vehicle is None:
        existing = ChargingSession.objects.filter(station=station, start_key=start_key).first()
        if existing is not None:  # the vehicle is gone since; the station still gets its transaction's answer
            return StartOutcome(AuthorizationStatus.ACCEPTED, existing.transaction_id)
        facts = None
    else:
        # Read after the vehicle's lock, which serialises its starts: a resent start that waited here behind its
        # first copy (committing on another web host whose answer the station never got) sees that copy's session,
        # and answers with it; any start sees the holds of the vehicle's starts before it.
        facts = _vehicle_facts(vehicle=vehicle, station=station, now=timezone.now(), start_key=start_key)
        if facts.started_transaction_id is not None:
            return StartOutcome(AuthorizationStatus.ACCEPTED, facts.started_transaction_id)
    if id_token_answers_locked(station_pk=station.pk, operator_pk=station.operator_id):
        logger.info("station %s: start refused (locked out)", station.station_id)
        return StartOutcome(AuthorizationStatus.INVALID)
    tariff = station_tariff_current(station=station)
    status = _authorization_status(station=station, vehicle=vehicle, tariff=tariff, facts=facts)
    if status is AuthorizationStatus.ACCEPTED and facts is not None and facts.charging:
        status = AuthorizationStatus.CONCURRENT
    if status is not AuthorizationStatus.ACCEPTED or vehicle is None:
        return StartOutcome(_answer_recorded(station=station, status=status))
    hold_id = wallets.transfer_id_for(key=f"session:{station.pk}:{start_key}:hold")
    session = ChargingSession.objects.create(
        station=station,
        vehicle=vehicle,
        tariff=tariff,
        connector_id=connector_id,
        transaction_id=transaction_id or f"p-{hold_id.hex}",
        start_key=start_key,
        ocpp_version=ocpp_version,
        started_at=started_at,
        hold_transfer_id=hold_id,
        hold_amount=vehicle.session_limit,
    )
    if not transaction_id:
        session.transaction_id = str(session.pk)
    # The chain is new, so nothing to read: the opening readings and the session's transaction id (1.6) and meter
    # fields are written in two statements.
    appended, known = _chain_extend(
        chain=(), station=station, transaction_id=session.transaction_id, readings=readings, source="start"
    )
    changed = {"transaction_id": session.transaction_id} if not transaction_id else {}
    if appended:
        for record in appended:
            record.session = session
        MeterReading.objects.bulk_create(appended)
        changed |= _session_meter_changes(known)
    if changed:
        _session_write(session, changed)
    # The hold comes last: it locks the operator's ledger account, which every start and settlement at the
    # operator's stations books against, until commit; placed first, the session's and readings' statements ran while
    # the operator's other starts and settlements waited for that lock.
    try:
        wallets.session_hold_place(
            hold_id=hold_id,
            wallet_account_id=vehicle.wallet_account_id,
            operator_account_id=station.operator.account_id,
            amount=vehicle.session_limit,
            currency=vehicle.currency,
            timeout_seconds=settings.MACHINES_SESSION_HOLD_SECONDS,
            reference=f"charging-hold:{station.pk}:{vehicle.pk}",
        )
    except LedgerRefused:
        transaction.set_rollback(True)  # the session and its readings go with it: a refused start writes no row
        return StartOutcome(AuthorizationStatus.NO_CREDIT)
    return StartOutcome(AuthorizationStatus.ACCEPTED, session.transaction_id)


def _session_lock(*, station: ChargingStation, transaction_id: str) -> ChargingSession:
    session = ChargingSession.objects.select_for_update().filter(station=station, transaction_id=transaction_id).first()
    if session is None:
        raise TransactionUnknown(
            f"Transaction {transaction_id!r} is not known for station {station.station_id}.", code="transaction_unknown"
        )
    return session


def _chain_extend(
    *,
    chain: Sequence[tuple[dt.datetime, int, int, str]],
    station: ChargingStation,
    transaction_id: str,
    readings: Sequence[metering.Reading],
    source: str,
) -> tuple[list[MeterReading], dict[dt.datetime, int]]:
    """The records that append `readings` to a session's `chain` (its rows: moment, energy, sequence, record hash),
    unsaved, and every reading known afterwards (moment -> energy). Duplicates are skipped, contradictions refused.
    The station's key is decrypted once, and only when there is a reading to sign."""
    known = {measured_at: energy_wh for measured_at, energy_wh, _, _ in chain}
    tail = max(((sequence, record_hash) for _, _, sequence, record_hash in chain), default=None)
    sequence, previous = tail or (
        0,
        metering.chain_genesis(station_did=station.did, transaction_id=transaction_id),
    )
    appended: list[MeterReading] = []
    signing_key = None
    for reading in sorted(readings, key=lambda item: item.measured_at):
        if reading.measured_at in known:
            if known[reading.measured_at] != reading.energy_wh:
                raise TransactionConflict(
                    f"A different reading for {reading.measured_at.isoformat()} is already recorded.",
                    code="meter_reading_conflict",
                )
            continue
        _reading_order_check(known=known, reading=reading)
        signing_key = signing_key or station_signing_key_open(station=station)
        sequence += 1
        record = metering.record_hash(
            previous_hash=previous,
            sequence=sequence,
            measured_at=reading.measured_at,
            energy_wh=reading.energy_wh,
            source=source,
        )
        appended.append(
            MeterReading(
                sequence=sequence,
                measured_at=reading.measured_at,
                energy_wh=reading.energy_wh,
                source=source,
                previous_hash=previous,
                record_hash=record,
                signature=metering.record_sign(private_key=signing_key, record_hash_hex=record),
            )
        )
        known[reading.measured_at] = reading.energy_wh
        previous = record
    return appended, known


def _readings_apply(
    *,
    session: ChargingSession,
    station: ChargingStation,
    readings: Sequence[metering.Reading],
    source: str,
    changes: Mapping[str, Any] | None = None,
) -> int:
    """Appends new readings to the session's chain; duplicates are skipped, contradictions refused. Writes the
    session's meter fields, with `changes` (a stop's end), in one UPDATE and on `session`. Returns how many readings
    were appended. A session cannot end without any reading."""
    # One read: every reading of the chain (the order check needs them all) and its tail.
    chain = list(session.readings.values_list("measured_at", "energy_wh", "sequence", "record_hash"))
    appended, known = _chain_extend(
        chain=chain, station=station, transaction_id=session.transaction_id, readings=readings, source=source
    )
    if changes and not known:
        raise ChargingRefused("A session needs at least one meter reading to end.", code="meter_reading_missing")
    if appended:
        for record in appended:
            record.session = session
        MeterReading.objects.bulk_create(appended)  # the message's readings in one statement
    if appended or changes:
        _session_write(session, _session_meter_changes(known) | dict(changes or {}))
    return len(appended)


def _reading_order_check(*, known: dict[dt.datetime, int], reading: metering.Reading) -> None:
    """A register never runs backwards: a reading must lie between its neighbours in time (late ones included)."""
    earlier = [energy for moment, energy in known.items() if moment < reading.measured_at]
    later = [energy for moment, energy in known.items() if moment > reading.measured_at]
    if earlier and reading.energy_wh < max(earlier):
        raise ChargingRefused(
            f"Meter reading {reading.energy_wh} Wh is lower than an earlier reading ({max(earlier)} Wh).",
            code="meter_reading_decreasing",
        )
    if later and reading.energy_wh > min(later):
        raise ChargingRefused(
            f"Meter reading {reading.energy_wh} Wh is higher than a later reading ({min(later)} Wh).",
            code="meter_reading_decreasing",
        )


def _session_meter_fields(known: dict[dt.datetime, int]) -> tuple[int, int, dt.datetime]:
    """A session's meter start, meter stop (its highest reading) and the moment that was first reached."""
    highest = max(known.values())
    reached_highest = min(moment for moment, energy in known.items() if energy == highest)
    return known[min(known)], highest, reached_highest


def _session_meter_changes(known: dict[dt.datetime, int]) -> dict[str, Any]:
    """`_session_meter_fields` by the session's field names."""
    start, stop, reached = _session_meter_fields(known)
    return {"meter_start_wh": start, "meter_stop_wh": stop, "last_increase_at": reached}


def _session_write(session: ChargingSession, fields: Mapping[str, Any]) -> None:
    """`fields` written in one UPDATE and kept on `session` as written."""
    for name, value in fields.items():
        setattr(session, name, value)
    ChargingSession.objects.filter(pk=session.pk).update(**fields)


def station_signing_key_open(*, station: ChargingStation) -> Any:
    """The station's signing key (Ed25519), decrypted once per station object and kept on it, never written anywhere
    in clear: the station a connection holds (`station_for_connection`) signs its meter values and its stop with one
    decryption instead of one per message (decrypting and loading the key cost more than signing with it). It goes
    with the object when the connection closes; a changed encrypted key is decrypted again."""
    encrypted = bytes(station.encrypted_private_key)
    opened: tuple[bytes, Any] | None = getattr(station, "_signing_key_opened", None)
    if opened is None or opened[0] != encrypted:
        opened = (encrypted, machine_private_key_open(did=station.did, encrypted_private_key=encrypted))
        station._signing_key_opened = opened  # type: ignore[attr-defined]
    return opened[1]


def station_for_connection(*, station_id: str) -> ChargingStation:
    """The station a connection speaks for, read once per connection: its identity (id, DID, encrypted key) does not
    change while it is connected, so meter values need not read it again. Anything that can change (operator,
    tariff, lockouts, approval) is still read per message by the services that decide on it."""
    return _station_get(station_id)


# The sessions of a batch, locked in id order (so two batches, or a batch and a stop, never wait on each other in a
# circle), then every reading of their chains, then the new readings inserted and the sessions' meter fields updated in
# one statement. The texts do not depend on the batch's size, so each is prepared once per connection.
_SESSIONS_LOCK_SQL = (
    f"SELECT s.id, s.status, s.station_id, s.transaction_id FROM {_SESSIONS} AS s"  # noqa: S608
    " JOIN unnest(%s::bigint[], %s::text[]) AS k (station_id, transaction_id)"
    " ON s.station_id = k.station_id AND s.transaction_id = k.transaction_id"
    " ORDER BY s.id FOR UPDATE OF s"
)
_CHAINS_SQL = (
    f"SELECT session_id, measured_at, energy_wh, sequence, record_hash FROM {_READINGS}"  # noqa: S608
    " WHERE session_id = ANY(%s::bigint[])"
)
_READING_COLUMNS = "session_id, sequence, measured_at, energy_wh, source, previous_hash, record_hash, signature"
_READINGS_APPEND_SQL = (
    f"WITH appended AS (INSERT INTO {_READINGS} ({_READING_COLUMNS})"  # noqa: S608
    " SELECT * FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[], %s::bigint[], %s::text[], %s::text[],"
    " %s::text[], %s::text[]))"
    f" UPDATE {_SESSIONS} AS s"
    " SET meter_start_wh = m.start_wh, meter_stop_wh = m.stop_wh, last_increase_at = m.increased_at"
    " FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[]) AS m (id, start_wh, stop_wh, increased_at)"
    " WHERE s.id = m.id"
)


@dataclass(frozen=True)
class MeterValues:
    """One meter-values message of a station, for `meter_readings_record_many`. `station` is the station as its
    connection read it (`station_for_connection`)."""

    station: ChargingStation
    transaction_id: str
    readings: Sequence[metering.Reading]
    source: str


def meter_readings_record(
    *,
    station_id: str,
    transaction_id: str,
    readings: Sequence[metering.Reading],
    source: str,
    station: ChargingStation | None = None,
) -> int:
    """Adds meter readings to an active session's chain; returns how many were new. `station`, when the caller holds
    it (`station_for_connection`), saves reading it again.

    Readings for an ended session are accepted only when already recorded (a repeat after a reconnect). One message's
    `meter_readings_record_many`: its refusal is raised."""
    if station is None or station.station_id != station_id:
        station = _station_get(station_id)
    (outcome,) = meter_readings_record_many(messages=[MeterValues(station, transaction_id, readings, source)])
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def meter_readings_record_many(*, messages: Sequence[MeterValues]) -> list[int | ApplicationError]:
    """Meter values of many stations in one transaction (the gateway's batch of those arriving together): for each
    message, in order, how many readings were new, or its refusal. A refused message changes nothing, and the others
    are recorded as if each had come alone; two messages for one session extend its chain in their order.

    Three statements for the whole batch on PostgreSQL, none through the ORM (this runs for every meter value of
    every station): the sessions' locks, their chains (read after the locks are held, so they include whatever a
    previous holder appended), and every new reading inserted together with the sessions' meter fields updated.
    """
    if connection.vendor != "postgresql":  # the embedded SQLite of `make run`: no FOR UPDATE, no INSERT in a WITH
        return [_meter_values_record_portable(message) for message in messages]
    keys = sorted({(message.station.pk, message.transaction_id) for message in messages})
    with connection.cursor() as cursor:
        cursor.execute(_SESSIONS_LOCK_SQL, [[pk for pk, _ in keys], [transaction for _, transaction in keys]])
        sessions = {(station_pk, transaction): (pk, status) for pk, status, station_pk, transaction in cursor}
        chains: dict[int, list[tuple[dt.datetime, int, int, str]]] = {pk: [] for pk, _ in sessions.values()}
        if chains:
            cursor.execute(_CHAINS_SQL, [list(chains)])
            for session_pk, *reading in cursor.fetchall():
                chains[session_pk].append(tuple(reading))  # type: ignore[arg-type]
        outcomes: list[int | ApplicationError] = []
        appended: list[tuple[int, MeterReading]] = []
        meters: dict[int, tuple[int, int, dt.datetime]] = {}
        for message in messages:
            try:
                session_pk, records, known = _meter_values_extend(
                    message, session=sessions.get((message.station.pk, message.transaction_id)), chains=chains
                )
            except ApplicationError as error:
                outcomes.append(error)
                continue
            if records:
                chains[session_pk].extend(
                    (record.measured_at, record.energy_wh, record.sequence, record.record_hash) for record in records
                )
                appended.extend((session_pk, record) for record in records)
                meters[session_pk] = _session_meter_fields(known)
            outcomes.append(len(records))
        if appended:
            columns = [
                [session_pk for session_pk, _ in appended],
                *(
                    [getattr(record, name) for _, record in appended]
                    for name in (
                        "sequence", "measured_at", "energy_wh", "source", "previous_hash", "record_hash", "signature"
                    )
                ),
                list(meters),
                *([fields[index] for fields in meters.values()] for index in range(3)),
            ]  # fmt: skip
            cursor.execute(_READINGS_APPEND_SQL, columns)
    return outcomes


def _meter_values_extend(
    message: MeterValues,
    *,
    session: tuple[int, str] | None,
    chains: Mapping[int, Sequence[tuple[dt.datetime, int, int, str]]],
) -> tuple[int, list[MeterReading], dict[dt.datetime, int]]:
    """The locked session's id, the records that append the message's readings to its chain and every reading known
    afterwards; raises the message's refusal."""
    if session is None:
        raise TransactionUnknown(
            f"Transaction {message.transaction_id!r} is not known for station {message.station.station_id}.",
            code="transaction_unknown",
        )
    session_pk, status = session
    chain = chains[session_pk]
    if status != SessionStatus.ACTIVE:
        known = {measured_at: energy_wh for measured_at, energy_wh, _, _ in chain}
        if all(known.get(reading.measured_at) == reading.energy_wh for reading in message.readings):
            return session_pk, [], known
        raise TransactionConflict(f"Transaction {message.transaction_id!r} has ended.", code="transaction_ended")
    records, known = _chain_extend(
        chain=chain,
        station=message.station,
        transaction_id=message.transaction_id,
        readings=message.readings,
        source=message.source,
    )
    return session_pk, records, known


def _meter_values_record_portable(message: MeterValues) -> int | ApplicationError:
    """One message of `meter_readings_record_many` through the ORM, for databases other than PostgreSQL."""
    try:
        with transaction.atomic():
            session = _session_lock(station=message.station, transaction_id=message.transaction_id)
            if session.status != SessionStatus.ACTIVE:
                known = {reading.measured_at: reading.energy_wh for reading in session.readings.all()}
                if all(known.get(reading.measured_at) == reading.energy_wh for reading in message.readings):
                    return 0
                raise TransactionConflict(
                    f"Transaction {message.transaction_id!r} has ended.", code="transaction_ended"
                )
            return _readings_apply(
                session=session, station=message.station, readings=message.readings, source=message.source
            )
    except ApplicationError as error:
        return error


@transaction.atomic
def charging_session_end(
    *,
    station_id: str,
    transaction_id: str,
    ended_at: dt.datetime,
    readings: Sequence[metering.Reading],
    reason: str = "",
    station: ChargingStation | None = None,
) -> ChargingSession:
    """Closes the session with its last readings and queues its settlement after commit. `station`, when the caller
    holds it (`station_for_connection`), saves reading it again: a stop needs only its identity.

    A repeated stop with the same readings returns the session unchanged; one that contradicts them is refused.
    """
    from machines import tasks

    if station is None or station.station_id != station_id:
        station = _station_get(station_id)
    session = _session_lock(station=station, transaction_id=transaction_id)
    if session.status != SessionStatus.ACTIVE:
        known = {reading.measured_at: reading.energy_wh for reading in session.readings.all()}
        if any(known.get(reading.measured_at) != reading.energy_wh for reading in readings):
            raise TransactionConflict(
                f"Transaction {transaction_id!r} has already ended with other readings.", code="transaction_ended"
            )
        return session
    # The stop's readings, then its meter fields and its end in one UPDATE, kept on the returned session as written.
    _readings_apply(
        session=session,
        station=station,
        readings=readings,
        source="stop",
        changes={"status": SessionStatus.ENDED, "ended_at": ended_at, "stop_reason": reason[:40]},
    )
    outbox_write(topic=tasks.SETTLE_TOPIC, key=f"charging_session:{session.pk}", payload={"session_id": session.pk})
    return session
