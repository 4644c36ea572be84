"""Machines for tests, made through the services like production code does."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from machines.models import ChargingStation, Vehicle
from machines.services import registry

STATION_PASSWORD = "station-password-0123456789"
_numbers = itertools.count(1)


def vehicle_make(
    *, owner: User, balance: int = 5_000, session_limit: int = 3_000, daily_limit: int = 10_000
) -> Vehicle:
    """A registered vehicle whose wallet holds `balance` minor units (it approves no operator yet)."""
    number = next(_numbers)
    vehicle = registry.vehicle_register(
        owner=owner, name=f"Car {number}", session_limit=session_limit, daily_limit=daily_limit
    )
    if balance:
        registry.vehicle_top_up(vehicle=vehicle, amount=balance, reference="initial")
    return vehicle


def reviewer_make() -> User:
    """A back-office user who decides station reviews."""
    return UserFactory(role=Role.BACK_OFFICE)


def station_make(
    *,
    owner: User,
    station_id: str = "",
    price_per_kwh: int = 39,
    session_fee: int = 50,
    idle_fee_per_minute: int = 0,
    password: str = STATION_PASSWORD,
    is_reviewed: bool = True,
    accepted_by: Sequence[Vehicle] = (),
) -> ChargingStation:
    """A registered station of `owner` with the given tariff (minor units), approved by back office unless
    `is_reviewed` is False, whose operator the owners of `accepted_by` have approved for those vehicles."""
    station = registry.station_register(
        owner=owner,
        station_id=station_id or f"cs-{next(_numbers):04d}",
        name="Test station",
        password=password,
        price_per_kwh=price_per_kwh,
        session_fee=session_fee,
        idle_fee_per_minute=idle_fee_per_minute,
        connector_count=2,
    )
    if is_reviewed:
        station = registry.station_review_decide(station=station, reviewer=reviewer_make(), is_approved=True)
    for vehicle in accepted_by:
        registry.vehicle_operator_approve(vehicle=vehicle, operator=station.operator)
    return station


def station_websocket_scope(station_id: str, *, subprotocol: str = "ocpp1.6") -> dict:
    """The ASGI scope of a station's websocket handshake with its Basic credentials, for in-process consumer tests."""
    import base64

    token = base64.b64encode(f"{station_id}:{STATION_PASSWORD}".encode()).decode("ascii")
    return {
        "type": "websocket",
        "path": f"/ocpp/{station_id}",
        "query_string": b"",
        "headers": [(b"authorization", f"Basic {token}".encode("ascii"))],
        "subprotocols": [subprotocol],
    }
