"""The central-system side of one station connection, for OCPP 1.6J and 2.0.1, built on the `ocpp` library.

Each handler turns one OCPP request into one call of `machines.services.charging` (run in a worker thread) and its
result into the OCPP response. A refusal of the services becomes a CALLERROR `PropertyConstraintViolation` whose
description is readable and whose details carry the portal's code, e.g. `{"code": "meter_reading_decreasing"}`.
Frames that are not OCPP at all get a CALLERROR too instead of silence. Every CALLERROR code is spelt as the
connection's version defines it: a payload that breaks the schema is `FormationViolation` on 1.6J and
`FormatViolation` on 2.0.1; on 2.0.1 an unreadable frame is `RpcFrameworkError` and an unknown MessageTypeId
`MessageTypeNotSupported`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from ocpp import messages as ocpp_messages
from ocpp.charge_point import (
    _raise_key_error,
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError, PropertyConstraintViolationError, ProtocolError
from ocpp.messages import CallError, MessageType, unpack
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from core.errors import ApplicationError
from machines import metering
from machines.metering import MeterDataError
from machines.ocpp.database import Coalesced, in_db_thread
from machines.ocpp.schemas import payload_validate, validators_compile
from machines.services import charging
from machines.services.charging import AuthorizationStatus

logger = logging.getLogger(__name__)
ocpp_logger = logging.getLogger("ocpp")  # the library's logger, whose level OCPP_LOG_LEVEL sets

# Every request a station sends and every answer the gateway gives is still checked against the version's JSON schema
# (machines.ocpp.schemas: the library's check, with the schemas' references resolved once instead of per message).
# The library would run each check in a worker thread: two thread hops per message, each costlier than the check of a
# payload of a few hundred bytes, and a station's messages queue behind every other station's database work for a
# free thread. They run inline instead.
ocpp_messages.ASYNC_VALIDATION = False

HEARTBEAT_INTERVAL_SECONDS = 300
STATUS_16 = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.INVALID: "Invalid",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.TARIFF_ABOVE_CEILING: "Blocked",
    AuthorizationStatus.NO_CREDIT: "Blocked",
    AuthorizationStatus.CONCURRENT: "ConcurrentTx",
}
STATUS_201 = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.INVALID: "Invalid",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.TARIFF_ABOVE_CEILING: "Blocked",
    AuthorizationStatus.NO_CREDIT: "NoCredit",
    AuthorizationStatus.CONCURRENT: "ConcurrentTx",
}


def in_thread(function: Callable[..., Any]) -> Callable[..., Any]:
    """Runs a service in one of the gateway's database threads (`machines.ocpp.database`): stations do not wait on
    each other beyond the threads' number, and a busy gateway pays for no connection set-up or check per call."""
    return in_db_thread(function)


class LastSeen:
    """Stations' latest heartbeats, kept in memory and written in one statement at most
    `MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS` after the first one arrived (`charging.stations_last_seen_record`);
    `flush()` writes what is pending at once (a station's disconnect does).

    A heartbeat is answered at once and costs no database call and no worker thread of its own. A crash loses at most
    that many seconds of "last seen" (shown to people, never billed); every other message still writes before it is
    answered.
    """

    def __init__(self) -> None:
        self._pending: dict[str, dt.datetime] = {}
        self._writer: asyncio.Task[None] | None = None

    def note(self, station_id: str) -> None:
        self._pending[station_id] = dt.datetime.now(dt.UTC)
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_soon())

    async def _write_soon(self) -> None:
        while self._pending:
            await asyncio.sleep(settings.MACHINES_OCPP_LAST_SEEN_FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception:
                logger.exception("writing the stations' last-seen moments failed")

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        if pending:
            await in_thread(charging.stations_last_seen_record)(seen=pending)


last_seen = LastSeen()


# BootNotifications are written before they are answered, those arriving together in one batch (a restart storm's
# thousands in a few statements instead of a thread call and a commit each).
_boots: Coalesced[tuple[str, str, str, str], None] = Coalesced(
    lambda boots: charging.stations_boot_record(boots=boots), size=500, parallel=1
)


# Meter values are the steady state's most frequent write (every 10 s from every charging station): those arriving
# together are recorded in one transaction of three statements (`charging.meter_readings_record_many`) instead of a
# thread call, three statements and a commit each, so thousands of charging stations do not queue behind the few
# database threads. A refused message gets its own refusal; the others are recorded.
_meter_values: Coalesced[charging.MeterValues, int | ApplicationError] = Coalesced(
    lambda messages: charging.meter_readings_record_many(messages=messages), size=200, parallel=2
)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def refusal(error: ApplicationError | MeterDataError) -> OCPPError:
    """The OCPP form of a refusal: readable description, the portal's code in the details."""
    return PropertyConstraintViolationError(
        description=str(getattr(error, "detail", error)), details={"code": error.code}
    )


class _VersionedCallError(OCPPError):
    """A CALLERROR whose code is spelt as the connection's OCPP version spells it."""

    def __init__(self, code: str, description: str | None, details: dict[str, Any] | None) -> None:
        super().__init__(description=description, details=details)
        self.code = code


@functools.lru_cache(maxsize=2048)
def _snake_key(key: str) -> str:
    """A payload key in snake case, as the library spells it (`camel_to_snake_case` of a one-key object), worked out
    once per key: the library runs two regular expressions per key of every message."""
    return next(iter(camel_to_snake_case({key: None})))


@functools.lru_cache(maxsize=2048)
def _camel_key(key: str) -> str:
    return next(iter(snake_to_camel_case({key: None})))


def _snake_case(data: Any) -> Any:
    if isinstance(data, dict):
        return {_snake_key(key): _snake_case(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_snake_case(value) for value in data]
    return data


def _camel_case(data: Any) -> Any:
    if isinstance(data, dict):
        return {_camel_key(key): _camel_case(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_camel_case(value) for value in data]
    return data


class _Refusing:
    """Shared by both versions: maps refusals to CALLERRORs and answers frames that cannot be parsed.

    The `ocpp` library names its errors in a mix of both versions (``FormatViolation`` is 2.0.1's word, 1.6J says
    ``FormationViolation``); every CALLERROR this gateway sends goes through `_ERROR_CODES` of the connection's
    version, so a 1.6J station only ever sees 1.6J codes and a 2.0.1 station only 2.0.1 codes.
    """

    _ocpp_version: str
    _ERROR_CODES: dict[str, str]
    """The library's error code -> this version's spelling (codes missing here are the same in both)."""
    _UNREADABLE_FRAME_CODE: str | None
    """The code for a frame whose MessageId cannot be read, or None to keep the library's own."""
    _UNKNOWN_MESSAGE_TYPE_CODE: str | None
    """The code for a MessageTypeId other than 2, 3, 4, or None to keep the library's own."""

    _routes: ClassVar[dict[str, tuple[Callable[..., Any], bool]]]
    """Action -> (its `@on` handler, whether its payloads are checked against the schema), one map per class."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._routes = {}
        for name in dir(cls):
            handler = getattr(cls, name, None)
            action = getattr(handler, "_on_action", None)
            if action is not None:
                cls._routes[action] = (handler, not getattr(handler, "_skip_schema_validation", False))

    def __init__(self, id: str, connection: Any, response_timeout: int = 30) -> None:
        """The library's `ChargePoint.__init__` without its route map: that map (a dict per action holding bound
        methods) was built for every connection, a few dozen objects per station that each collection of the old
        generation walks, and a reference cycle that only such a collection frees; the class keeps one (`_routes`)."""
        self.id = id
        self._response_timeout = response_timeout
        self._connection = connection
        self._call_lock = asyncio.Lock()
        self._response_queue: asyncio.Queue[Any] = asyncio.Queue()
        self._unique_id_generator = uuid.uuid4
        self.logger = ocpp_logger

    async def _dispatch(self, msg: Any) -> Any:
        """The library's `_handle_call` for this gateway's handlers, at a lower cost per message: the handler from the
        class's map, its payload checked against the version's schema (inline), keys converted between camel and
        snake case once per key name, not per message. What it leaves out is unused here: `@after` hooks, and
        handlers taking `call_unique_id` (the library inspects every handler's signature for it per message)."""
        route = self._routes.get(msg.action)
        if route is None:
            _raise_key_error(msg.action, self._ocpp_version)  # type: ignore[attr-defined]
        handler, validated = route  # type: ignore[misc]
        if validated:
            payload_validate(msg, self._ocpp_version)  # type: ignore[attr-defined]
        try:
            response = await handler(self, **_snake_case(msg.payload))
        except Exception as error:
            self.logger.exception("Error while handling request '%s'", msg)
            await self._send(msg.create_call_error(error).to_json())  # type: ignore[attr-defined]
            return None
        result = msg.create_call_result(_camel_case(remove_nones(serialize_as_dict(response))))
        if validated:
            payload_validate(result, self._ocpp_version)  # type: ignore[attr-defined]
        await self._send(result.to_json())  # type: ignore[attr-defined]
        return response

    def _versioned(self, error: OCPPError) -> OCPPError:
        code = self._ERROR_CODES.get(error.code, error.code)
        return error if code == error.code else _VersionedCallError(code, error.description, error.details)

    async def route_message(self, raw_msg: str) -> None:
        try:
            message = unpack(raw_msg)
        except OCPPError as error:
            await self._frame_refuse(raw_msg, error)
            return
        if message.message_type_id == MessageType.Call and not isinstance(message.payload, dict):
            await self._frame_refuse(raw_msg, ProtocolError(description="The payload must be a JSON object."))
            return
        # The rest of the library's `route_message`, on the frame read once (the library would read it again).
        if message.message_type_id == MessageType.Call:
            try:
                await self._handle_call(message)
            except OCPPError as error:
                self.logger.exception("Error while handling request '%s'", message)
                await self._send(message.create_call_error(error).to_json())  # type: ignore[attr-defined]
        elif message.message_type_id in (MessageType.CallResult, MessageType.CallError):
            self._response_queue.put_nowait(message)

    async def _handle_call(self, msg: Any) -> Any:
        """The dispatch (`_dispatch`); its refusals (schema violations above all) leave in this version's words."""
        try:
            return await self._dispatch(msg)
        except OCPPError as error:
            cause = (error.details or {}).get("cause", error.description)
            versioned = self._versioned(error)
            raise _VersionedCallError(versioned.code, versioned.description, {"cause": str(cause)}) from error

    async def _frame_refuse(self, raw_msg: str, error: OCPPError) -> None:
        unique_id = "-1"
        message_type: object = None
        try:
            parsed = json.loads(raw_msg)
            if isinstance(parsed, list) and parsed:
                message_type = parsed[0]
            if isinstance(parsed, list) and len(parsed) > 1 and isinstance(parsed[1], str):
                unique_id = parsed[1]
        except ValueError:
            pass
        code = self._ERROR_CODES.get(error.code, error.code)
        if message_type is not None and message_type not in (
            MessageType.Call,
            MessageType.CallResult,
            MessageType.CallError,
        ):
            code = self._UNKNOWN_MESSAGE_TYPE_CODE or code
        elif unique_id == "-1":
            code = self._UNREADABLE_FRAME_CODE or code
        description = error.description or "The frame is not an OCPP-J message."
        logger.info("station %s sent a malformed frame: %s", getattr(self, "id", "?"), description)
        details = {"code": "frame_malformed", "cause": str((error.details or {}).get("cause", description))}
        await self._send(CallError(unique_id, code, description, details).to_json())  # type: ignore[attr-defined]

    _station: Any = None

    async def _meter_readings_record(
        self, *, transaction_id: str, readings: list[metering.Reading], source: str
    ) -> None:
        """Meter values with the connection's station (`_connection_station`), written in the batch of those arriving
        together (`_meter_values`)."""
        station = await self._connection_station()
        outcome = await _meter_values(charging.MeterValues(station, transaction_id, readings, source))
        if isinstance(outcome, ApplicationError):
            raise self._refused(outcome) from outcome

    async def _connection_station(self) -> Any:
        """The station this connection speaks for, read once per connection (`charging.station_for_connection`):
        meter values and stops need only its identity, which does not change while it is connected."""
        if self._station is None:
            self._station = await self._service(charging.station_for_connection, station_id=self.id)  # type: ignore[attr-defined]
        return self._station

    async def _session_end(
        self, *, transaction_id: str, ended_at: dt.datetime, readings: list[metering.Reading], reason: str
    ) -> None:
        await self._service(
            charging.charging_session_end,
            station_id=self.id,  # type: ignore[attr-defined]
            station=await self._connection_station(),
            transaction_id=transaction_id,
            ended_at=ended_at,
            readings=readings,
            reason=reason,
        )

    async def _heartbeat_record(self) -> None:
        last_seen.note(self.id)  # type: ignore[attr-defined]

    async def _service(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return await in_thread(function)(**kwargs)
        except (ApplicationError, MeterDataError) as error:
            raise self._refused(error) from error

    def _refused(self, error: ApplicationError | MeterDataError) -> OCPPError:
        logger.info("station %s refused: %s (%s)", getattr(self, "id", "?"), error, error.code)
        return refusal(error)


def _readings(meter_values: list[dict[str, Any]] | None) -> list[metering.Reading]:
    try:
        return metering.readings_from_meter_values(meter_values or [])
    except MeterDataError as error:
        raise refusal(error) from error


def _timestamp(value: str) -> dt.datetime:
    try:
        return metering.parse_timestamp(value)
    except MeterDataError as error:
        raise refusal(error) from error


class CentralSystem16(_Refusing, ChargePoint16):
    """OCPP 1.6J: the portal assigns transaction ids (its session numbers)."""

    # OCPP-J 1.6 §4.2.3 (with the errata's "will not be fixed" spellings); 1.6J has no code for unknown MessageTypeIds.
    _ERROR_CODES = {
        "FormatViolation": "FormationViolation",
        "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    }
    _UNREADABLE_FRAME_CODE = None
    _UNKNOWN_MESSAGE_TYPE_CODE = None

    @on(Action16.boot_notification)
    async def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any) -> Any:
        await _boots((self.id, charge_point_vendor, charge_point_model, kwargs.get("firmware_version", "")))
        return result16.BootNotification(current_time=now_iso(), interval=HEARTBEAT_INTERVAL_SECONDS, status="Accepted")

    @on(Action16.heartbeat)
    async def on_heartbeat(self) -> Any:
        await self._heartbeat_record()
        return result16.Heartbeat(current_time=now_iso())

    @on(Action16.status_notification)
    async def on_status_notification(self, connector_id: int, error_code: str, status: str, **kwargs: Any) -> Any:
        await self._service(
            charging.connector_status_record,
            station_id=self.id,
            connector_id=connector_id,
            status=status,
            error_code=error_code,
        )
        return result16.StatusNotification()

    @on(Action16.authorize)
    async def on_authorize(self, id_tag: str) -> Any:
        status = await self._service(charging.id_token_authorize, station_id=self.id, id_token=id_tag)
        return result16.Authorize(id_tag_info={"status": STATUS_16[status]})

    @on(Action16.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> Any:
        if meter_start < 0:
            raise refusal(MeterDataError(f"meterStart {meter_start} is negative", code="meter_reading_negative"))
        started_at = _timestamp(timestamp)
        outcome = await self._service(
            charging.charging_session_start,
            station_id=self.id,
            connector_id=connector_id,
            id_token=id_tag,
            started_at=started_at,
            start_key=f"{connector_id}|{started_at.isoformat()}|{id_tag}",
            ocpp_version="1.6",
            readings=[metering.Reading(started_at, meter_start)],
        )
        transaction_id = int(outcome.transaction_id) if outcome.transaction_id else 0
        return result16.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": STATUS_16[outcome.status]}
        )

    @on(Action16.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any) -> Any:
        transaction_id = kwargs.get("transaction_id")
        readings = _readings(meter_value)
        if transaction_id is not None and readings:
            await self._meter_readings_record(
                transaction_id=str(transaction_id), readings=readings, source="meter_values"
            )
        return result16.MeterValues()

    @on(Action16.stop_transaction)
    async def on_stop_transaction(self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any) -> Any:
        if meter_stop < 0:
            raise refusal(MeterDataError(f"meterStop {meter_stop} is negative", code="meter_reading_negative"))
        ended_at = _timestamp(timestamp)
        readings = _readings(kwargs.get("transaction_data"))
        readings.append(metering.Reading(ended_at, meter_stop))
        await self._session_end(
            transaction_id=str(transaction_id), ended_at=ended_at, readings=readings, reason=kwargs.get("reason") or ""
        )
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})


class CentralSystem201(_Refusing, ChargePoint201):
    """OCPP 2.0.1: the station chooses transaction ids; one TransactionEvent message carries start, updates, end."""

    # OCPP 2.0.1 part 4 §4.3: FormatViolation, OccurrenceConstraintViolation, and the two RPC framework codes.
    _ERROR_CODES = {
        "FormationViolation": "FormatViolation",
        "OccurenceConstraintViolation": "OccurrenceConstraintViolation",
    }
    _UNREADABLE_FRAME_CODE = "RpcFrameworkError"
    _UNKNOWN_MESSAGE_TYPE_CODE = "MessageTypeNotSupported"

    @on(Action201.boot_notification)
    async def on_boot_notification(self, charging_station: dict[str, Any], reason: str, **kwargs: Any) -> Any:
        await _boots(
            (
                self.id,
                charging_station.get("vendor_name", ""),
                charging_station.get("model", ""),
                charging_station.get("firmware_version", ""),
            )
        )
        return result201.BootNotification(
            current_time=now_iso(), interval=HEARTBEAT_INTERVAL_SECONDS, status="Accepted"
        )

    @on(Action201.heartbeat)
    async def on_heartbeat(self, **kwargs: Any) -> Any:
        await self._heartbeat_record()
        return result201.Heartbeat(current_time=now_iso())

    @on(Action201.status_notification)
    async def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **kwargs: Any
    ) -> Any:
        await self._service(
            charging.connector_status_record, station_id=self.id, connector_id=evse_id, status=connector_status
        )
        return result201.StatusNotification()

    @on(Action201.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kwargs: Any) -> Any:
        status = await self._service(charging.id_token_authorize, station_id=self.id, id_token=id_token["id_token"])
        return result201.Authorize(id_token_info={"status": STATUS_201[status]})

    @on(Action201.meter_values)
    async def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **kwargs: Any) -> Any:
        _readings(meter_value)  # outside a transaction: checked, not billed
        return result201.MeterValues()

    @on(Action201.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> Any:
        moment = _timestamp(timestamp)
        transaction_id = transaction_info["transaction_id"]
        readings = _readings(kwargs.get("meter_value"))
        if event_type == "Started":
            return await self._transaction_started(
                transaction_id=transaction_id, moment=moment, readings=readings, kwargs=kwargs
            )
        if event_type == "Updated":
            if readings:
                await self._meter_readings_record(
                    transaction_id=transaction_id, readings=readings, source="transaction_event"
                )
            return result201.TransactionEvent()
        await self._session_end(
            transaction_id=transaction_id,
            ended_at=moment,
            readings=readings,
            reason=transaction_info.get("stopped_reason") or trigger_reason,
        )
        return result201.TransactionEvent()

    async def _transaction_started(
        self, *, transaction_id: str, moment: dt.datetime, readings: list[metering.Reading], kwargs: dict[str, Any]
    ) -> Any:
        id_token = (kwargs.get("id_token") or {}).get("id_token")
        if not id_token:
            raise refusal(ApplicationError("A Started event must carry the idToken.", code="id_token_missing"))
        evse = kwargs.get("evse") or {}
        outcome = await self._service(
            charging.charging_session_start,
            station_id=self.id,
            connector_id=evse.get("id", 1),
            id_token=id_token,
            started_at=moment,
            start_key=transaction_id,
            ocpp_version="2.0.1",
            transaction_id=transaction_id,
            readings=readings,
        )
        return result201.TransactionEvent(id_token_info={"status": STATUS_201[outcome.status]})


def schema_validators_compile() -> None:
    """Compiles the schema validators of every action the two central systems check (`schemas.validators_compile`);
    a server process calls it at start-up (portal/asgi.py)."""
    validators_compile(
        (central_system._ocpp_version, action)
        for central_system in (CentralSystem16, CentralSystem201)
        for action, (_, validated) in central_system._routes.items()
        if validated
    )
