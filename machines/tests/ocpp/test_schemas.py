"""The gateway's schema check (machines.ocpp.schemas) accepts and refuses exactly what the `ocpp` library's does, for
every action of both versions, on payloads generated from the schemas and on broken copies of them; a refused payload
raises the library's own error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import ocpp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult, _validate_payload, get_validator

from machines.ocpp import schemas
from machines.ocpp.central_system import CentralSystem16, CentralSystem201, schema_validators_compile

SCHEMA_DIRECTORIES = {"1.6": "v16", "2.0.1": "v201"}
WRONG_VALUES = [None, True, -1, 1.0, 1.5, "x" * 600, [], {}, {"unexpectedKey": 1}]


def _actions() -> list[tuple[str, int, str]]:
    """(version, message type, action) for every schema file the library ships for the gateway's two versions."""
    found = []
    for version, directory in SCHEMA_DIRECTORIES.items():
        for path in sorted((Path(ocpp.__file__).parent / directory / "schemas").glob("*.json")):
            name = path.stem
            if name.endswith("Response"):
                found.append((version, CallResult.message_type_id, name.removesuffix("Response")))
            else:
                found.append((version, Call.message_type_id, name.removesuffix("Request")))
    return found


ACTIONS = _actions()
# What the gateway checks: the requests its handlers take and the answers they give (a hypothesis run per schema of
# all of the library's schemas takes minutes; every schema is still inlined and compiled below).
ROUTED = [
    (version, message_type, action)
    for version, central_system in (("1.6", CentralSystem16), ("2.0.1", CentralSystem201))
    for action in sorted(central_system._routes)
    for message_type in (Call.message_type_id, CallResult.message_type_id)
]


@pytest.mark.parametrize(("version", "message_type", "action"), ACTIONS)
def test_every_schema_of_both_versions_is_inlined_or_left_to_the_library(version, message_type, action):
    validator = schemas._validator(_message(message_type, action, {}), version)

    if version == "1.6" and (message_type, action) in schemas._DECIMAL_16:
        assert validator is None
    else:
        assert validator is not None
        assert '"$ref"' not in json.dumps(validator.schema)


def _message(message_type: int, action: str, payload: Any) -> Call | CallResult:
    if message_type == Call.message_type_id:
        return Call("1", action, payload)
    return CallResult("1", payload, action)


def _broken(payload: Any) -> list[Any]:
    """Copies of `payload` each with one thing wrong (or, by chance, still right): a key removed or added, a value of
    another type or size, at every level."""
    copies: list[Any] = []

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict):
            copies.append(_changed(payload, path, lambda value: {**value, "unexpectedKey": 1}))
            for key in node:
                copies.append(
                    _changed(payload, path, lambda value, key=key: {k: v for k, v in value.items() if k != key})
                )
                walk(node[key], [*path, key])
        elif isinstance(node, list):
            copies.append(_changed(payload, path, lambda value: []))
            copies.append(_changed(payload, path, lambda value: value + value))
            for index, item in enumerate(node):
                walk(item, [*path, index])
        for wrong in WRONG_VALUES:
            copies.append(_changed(payload, path, lambda value, wrong=wrong: copy.deepcopy(wrong)))

    walk(payload, [])
    return copies


def _changed(payload: Any, path: list[Any], change: Any) -> Any:
    if not path:
        return change(copy.deepcopy(payload))
    changed = copy.deepcopy(payload)
    parent = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = change(parent[path[-1]])
    return changed


def _library_accepts(message: Call | CallResult, version: str) -> bool:
    return get_validator(message.message_type_id, message.action, version).is_valid(message.payload)


@pytest.mark.parametrize(("version", "message_type", "action"), ROUTED)
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_the_inlined_schema_accepts_and_refuses_what_the_librarys_does(version, message_type, action, data):
    validator = schemas._validator(_message(message_type, action, {}), version)
    assert validator is not None
    # Generated from the inlined schema: hypothesis-jsonschema cannot follow the references of some originals (the
    # comparison below is what tells whether the two agree).
    payload = data.draw(from_schema(validator.schema))

    for candidate in [payload, *_broken(payload)]:
        message = _message(message_type, action, candidate)
        assert validator.is_valid(candidate) == _library_accepts(message, version), candidate


def _raised(check: Any, message: Call | CallResult, version: str) -> tuple[str, str, str] | None:
    try:
        check(message, version)
    except OCPPError as error:
        return type(error).__name__, error.code, str((error.details or {}).get("cause"))
    return None


@pytest.mark.parametrize(
    ("version", "action", "payload"),
    [
        ("1.6", "MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": 5}]}]}),
        ("1.6", "MeterValues", {"connectorId": "1", "meterValue": []}),
        ("1.6", "StartTransaction", {"connectorId": 1, "idTag": "x" * 21, "meterStart": 0, "timestamp": "t"}),
        ("1.6", "StopTransaction", {"meterStop": 1, "timestamp": "t"}),
        ("1.6", "Heartbeat", {"unexpected": 1}),
        ("2.0.1", "TransactionEvent", {"eventType": "Paused", "timestamp": "t", "triggerReason": "Authorized"}),
        (
            "2.0.1",
            "TransactionEvent",
            {
                "eventType": "Updated",
                "timestamp": "t",
                "triggerReason": "MeterValuePeriodic",
                "seqNo": 1,
                "transactionInfo": {"transactionId": "t-1"},
                "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "900"}]}],
            },
        ),
        ("2.0.1", "BootNotification", {"chargingStation": {"model": "M"}, "reason": "PowerUp"}),
        ("2.0.1", "Heartbeat", {"customData": {"vendorId": 5}}),
    ],
)
def test_a_refused_payload_raises_the_librarys_error(version, action, payload):
    message = Call("1", action, payload)

    refusal = _raised(schemas.payload_validate, message, version)

    assert refusal is not None
    assert refusal == _raised(_validate_payload, message, version)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("1.6", Call("1", "Heartbeat", {})),
        ("1.6", CallResult("1", {"currentTime": "2026-12-06T16:00:00Z"}, "Heartbeat")),
        (
            "2.0.1",
            Call(
                "1",
                "TransactionEvent",
                {
                    "eventType": "Updated",
                    "timestamp": "2026-12-06T16:00:00Z",
                    "triggerReason": "MeterValuePeriodic",
                    "seqNo": 3,
                    "transactionInfo": {"transactionId": "t-x"},
                    "meterValue": [
                        {
                            "timestamp": "2026-12-06T16:00:00Z",
                            "sampledValue": [{"value": 900, "unitOfMeasure": {"unit": "Wh"}}],
                        }
                    ],
                },
            ),
        ),
    ],
)
def test_a_valid_payload_passes(version, message):
    assert _raised(schemas.payload_validate, message, version) is None


def test_a_schema_that_refers_to_itself_is_left_to_the_library():
    schema = {"definitions": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/Node"}}}}}
    schema["$ref"] = "#/definitions/Node"

    with pytest.raises(schemas._Recursive):
        schemas.schema_inlined(schema)


def test_the_gateway_compiles_every_validator_it_checks_with_before_its_first_message(monkeypatch):
    monkeypatch.setattr(schemas, "_validators", {})
    schema_validators_compile()

    checked = [
        (message_type, action, version)
        for version, central_system in (("1.6", CentralSystem16), ("2.0.1", CentralSystem201))
        for action, (_, validated) in central_system._routes.items()
        if validated
        for message_type in (Call.message_type_id, CallResult.message_type_id)
    ]
    assert sorted(schemas._validators) == sorted(checked)
    left_to_the_library = {key for key in checked if key[2] == "1.6" and key[:2] in schemas._DECIMAL_16}
    assert {key for key, validator in schemas._validators.items() if validator is None} == left_to_the_library

    def compiled_while_serving(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a validator was compiled while a message was checked")

    monkeypatch.setattr(schemas.fastjsonschema, "compile", compiled_while_serving)
    for message, version in [
        (Call("1", "BootNotification", {"chargePointVendor": "FinLab", "chargePointModel": "AC22"}), "1.6"),
        (Call("2", "Heartbeat", {}), "2.0.1"),
        (CallResult("3", {"currentTime": "2026-12-07T10:00:00Z"}, "Heartbeat"), "2.0.1"),
    ]:
        schemas.payload_validate(message, version)
