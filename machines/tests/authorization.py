"""Authorization matrix of the machines pages and the machine API."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from machines import metering
from machines.services import charging
from machines.services.settlement import charging_session_settle
from machines.tests.factories import station_make, vehicle_make
from portal.authorization import Case

OWNER_PAGE = {"anonymous": 302, "customer": 200, "dealer": 200, "back_office": 200}
OPERATOR_PAGE = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 200}
OWNED_OBJECT = {"anonymous": 302, "customer": 404, "dealer": 200, "back_office": 200, "other_owner": 404}
OPERATOR_OBJECT = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 200, "other_owner": 404}
BACK_OFFICE_PAGE = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200}
BACK_OFFICE_ACTION = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 302, "other_owner": 403}
MACHINE_ONLY = {"anonymous": 401, "customer": 401, "dealer": 401, "back_office": 401}


def _vehicle(owner) -> int:
    return vehicle_make(owner=owner, balance=0).pk


def _station(owner) -> int:
    return station_make(owner=owner).pk


def _pending_station(owner) -> int:
    return station_make(owner=owner, is_reviewed=False).pk


def _vehicle_and_operator(owner) -> str:
    """The owner's vehicle and an operator with an approved station that the vehicle has approved."""
    vehicle = vehicle_make(owner=owner, balance=0)
    station = station_make(owner=UserFactory(role=Role.DEALER), accepted_by=[vehicle])
    return f"{vehicle.pk}/operators/{station.operator_id}"


def _invoice(owner) -> int:
    """A settled session of the owner's vehicle at the owner's station."""
    vehicle = vehicle_make(owner=owner, balance=5_000)
    station = station_make(owner=owner, accepted_by=[vehicle])
    start = timezone.now() - dt.timedelta(hours=1)
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=start,
        start_key="matrix",
        ocpp_version="1.6",
        readings=[metering.Reading(start, 0)],
    )
    session = charging.charging_session_end(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        ended_at=start + dt.timedelta(minutes=30),
        readings=[metering.Reading(start + dt.timedelta(minutes=30), 7_000)],
    )
    return charging_session_settle(session_id=session.pk).invoice.pk


MATRIX = [
    Case("machines home", "GET", "/machines/", OWNER_PAGE, route="machines/"),
    Case("vehicle register", "GET", "/machines/vehicles/new", OWNER_PAGE, route="machines/vehicles/new"),
    Case(
        "vehicle detail",
        "GET",
        "/machines/vehicles/{object}/",
        OWNED_OBJECT,
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/",
    ),
    Case(
        "vehicle limits",
        "POST",
        "/machines/vehicles/{object}/limits",
        {"anonymous": 302, "customer": 404, "dealer": 302, "back_office": 302, "other_owner": 404},
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/limits",
    ),
    Case(
        "vehicle top-up",
        "POST",
        "/machines/vehicles/{object}/top-up",
        {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 302, "other_owner": 403},
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/top-up",
    ),
    Case(
        "vehicle owner top-up",
        "GET",
        "/machines/vehicles/{object}/wallet/top-up",
        # Only the owning customer: another customer's vehicle is 404, other roles may not top up as owners.
        {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403, "other_owner": 403},
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/wallet/top-up",
    ),
    Case(
        "vehicle owner top-up confirm",
        "POST",
        "/machines/vehicles/{object}/wallet/top-up",
        {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403, "other_owner": 403},
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/wallet/top-up",
    ),
    Case(
        "vehicle operators",
        "GET",
        "/machines/vehicles/{object}/operators",
        OWNED_OBJECT,
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/operators",
    ),
    Case(
        "vehicle operator revoke",
        "POST",
        "/machines/vehicles/{object}/revoke",
        {"anonymous": 302, "customer": 404, "dealer": 302, "back_office": 302, "other_owner": 404},
        make_object=_vehicle_and_operator,
        route="machines/vehicles/<int:vehicle_id>/operators/<int:operator_id>/revoke",
    ),
    Case(
        "vehicle price ceiling",
        "GET",
        "/machines/vehicles/{object}/price-ceiling",
        OWNED_OBJECT,
        make_object=_vehicle,
        route="machines/vehicles/<int:vehicle_id>/price-ceiling",
    ),
    Case("station register", "GET", "/machines/stations/new", OPERATOR_PAGE, route="machines/stations/new"),
    Case(
        "station review list",
        "GET",
        "/machines/stations/review/",
        BACK_OFFICE_PAGE,
        route="machines/stations/review/",
    ),
    Case(
        "station review",
        "POST",
        "/machines/stations/{object}/review",
        BACK_OFFICE_ACTION,
        make_object=_pending_station,
        route="machines/stations/<int:station_pk>/review",
    ),
    Case("stations live", "GET", "/machines/stations/live/", OPERATOR_PAGE, route="machines/stations/live/"),
    Case(
        "stations live data", "GET", "/machines/stations/live.json", OPERATOR_PAGE, route="machines/stations/live.json"
    ),
    Case(
        "station detail",
        "GET",
        "/machines/stations/{object}/",
        OPERATOR_OBJECT,
        make_object=_station,
        route="machines/stations/<int:station_pk>/",
    ),
    Case(
        "charging invoice",
        "GET",
        "/machines/invoices/{object}/",
        OWNED_OBJECT,
        make_object=_invoice,
        route="machines/invoices/<int:invoice_id>/",
    ),
    Case("machine balance", "GET", "/api/machines/me/balance", MACHINE_ONLY, route="api/machines/me/balance"),
    Case("machine sessions", "GET", "/api/machines/me/sessions", MACHINE_ONLY, route="api/machines/me/sessions"),
    Case(
        "machine payment",
        "POST",
        "/api/machines/me/payments",
        MACHINE_ONLY,
        body={"service_point": "car-park", "amount": 100},
        route="api/machines/me/payments",
    ),
]
