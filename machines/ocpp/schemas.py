"""Every OCPP payload checked against its version's JSON schema, at a fraction of the `ocpp` library's cost per message.

The library checks a payload with a jsonschema `Draft4Validator` of the official schema, which follows each
`"$ref": "#/definitions/..."` through the `referencing` library on every use (in a 2.0.1 TransactionEvent about half of
the check's time) and walks the schema's keywords in Python for every payload. `payload_validate` checks with a
validator that fastjsonschema compiled into Python code from the same schema, with every reference replaced by the
definition it names (`schema_inlined`), and with the library's semantics: draft 4 (the 2.0.1 schemas name draft 6,
which the library ignores: it reads every schema as draft 4, where 1.0 is no integer) and no `format` checks (jsonschema
checks none unless asked). Draft 4 ignores whatever stands beside a `$ref`, and jsonschema applies that rule to these
schemas, so the inlined schema accepts and refuses exactly what the original does (machines/tests/ocpp/test_schemas.py
checks both on generated valid and broken payloads of every action the gateway routes). A payload it refuses goes
through the library's own check, which raises the library's error for it, as before: refusals (rare) are not faster,
and the CALLERROR a station gets is the same.

The three OCPP 1.6 actions whose schemas the library reads with decimal numbers (and whose payloads it re-reads so) are
left to the library, as are schemas it has not got, and any schema whose references would nest without end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import fastjsonschema
from ocpp.messages import Call, CallResult, _validate_payload, get_validator

DRAFT_4 = "http://json-schema.org/draft-04/schema#"


class Compiled:
    """A schema compiled by fastjsonschema, with draft 4's rules and without `format` checks (see the module's
    description); `schema` is what it was compiled from."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = {**schema, "$schema": DRAFT_4}
        self._check = fastjsonschema.compile(self.schema, use_formats=False)

    def is_valid(self, payload: Any) -> bool:
        try:
            self._check(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        return True


# (message type, action, version) -> validator of the inlined schema, or None where the library checks alone.
_validators: dict[tuple[int, str, str], Compiled | None] = {}
# OCPP 1.6 messages the library checks with decimal numbers (ocpp.messages._validate_payload).
_DECIMAL_16 = {(Call.message_type_id, "SetChargingProfile"), (Call.message_type_id, "RemoteStartTransaction")}
_DECIMAL_16.add((CallResult.message_type_id, "GetCompositeSchedule"))
_NESTING_LIMIT = 64


class _Recursive(Exception):
    """A schema whose references nest deeper than `_NESTING_LIMIT`: it cannot be inlined."""


def schema_inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every `{"$ref": "#/definitions/NAME", ...}` replaced by the definition it names (recursively), and
    the definitions dropped; raises `_Recursive` for a schema that refers to itself."""
    definitions = schema.get("definitions", {})

    def inline(node: Any, depth: int) -> Any:
        if depth > _NESTING_LIMIT:
            raise _Recursive
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str):
                prefix, _, name = reference.rpartition("/")
                if prefix != "#/definitions" or name not in definitions:
                    raise _Recursive  # a reference other than to this schema's definitions: not inlined
                return inline(definitions[name], depth + 1)
            return {key: inline(value, depth + 1) for key, value in node.items() if key != "definitions"}
        if isinstance(node, list):
            return [inline(value, depth + 1) for value in node]
        return node

    return inline(schema, 0)


def _validator(message: Call | CallResult, ocpp_version: str) -> Compiled | None:
    return _validator_of((message.message_type_id, message.action, ocpp_version))


def _validator_of(key: tuple[int, str, str]) -> Compiled | None:
    if key in _validators:
        return _validators[key]
    ocpp_version = key[2]
    validator = None
    if not (ocpp_version == "1.6" and key[:2] in _DECIMAL_16):
        try:
            validator = Compiled(schema_inlined(get_validator(key[0], key[1], ocpp_version).schema))
        except (OSError, ValueError, _Recursive, fastjsonschema.JsonSchemaDefinitionException):
            validator = None  # the library's check reports it
    _validators[key] = validator
    return validator


def validators_compile(actions: Iterable[tuple[str, str]]) -> None:
    """Compiles the validators of the requests and answers of these (OCPP version, action) pairs now, at a server's
    start-up, rather than at each one's first message: a compilation takes about 5 ms of the event loop's time, and a
    restart storm brings the first messages of many actions at once."""
    for ocpp_version, action in actions:
        for message_type_id in (Call.message_type_id, CallResult.message_type_id):
            _validator_of((message_type_id, action, ocpp_version))


def payload_validate(message: Call | CallResult, ocpp_version: str) -> None:
    """Raises the `ocpp` library's error for a payload its version's schema refuses (see the module's description)."""
    validator = _validator(message, ocpp_version) if type(message) in (Call, CallResult) else None
    if validator is not None and validator.is_valid(message.payload):
        return
    _validate_payload(message, ocpp_version)
