"""Demo data of the machines app for `make run`: a vehicle, a charging station, a car park and one settled session.

Uses the demo customer and dealer made by portal.demo; running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from machines import metering
from machines.models import ChargingSession, ChargingStation, ServicePoint, StationReview, Vehicle
from machines.services import charging, registry
from machines.services.settlement import charging_session_settle

DEMO_STATION_ID = "demo-station-1"
DEMO_STATION_PASSWORD = "demo-station-password-2026"  # noqa: S105 - published demo credential of a demo station
DEMO_VEHICLE_NAME = "Demo e-car"
DEMO_SERVICE_POINT = "demo-car-park"


@dataclass(frozen=True)
class MachinesDemo:
    vehicle_did: str
    station_id: str
    station_password: str
    id_token: str


def machines_demo_data_load(
    *,
    customer_email: str = "customer@demo.finlab.test",
    dealer_email: str = "dealer@demo.finlab.test",
    reviewer_email: str = "backoffice@demo.finlab.test",
) -> MachinesDemo:
    """The demo customer's e-car (100 EUR in its wallet, its id token made by the portal), the demo dealer's station
    (approved by the demo back office) and car park, the car's owner approving the dealer's operator after seeing its
    tariff, and one settled session so the pages show an invoice and a chart."""
    customer = User.objects.get(email=customer_email)
    dealer = User.objects.get(email=dealer_email)
    vehicle = Vehicle.objects.filter(owner=customer, name=DEMO_VEHICLE_NAME).first() or registry.vehicle_register(
        owner=customer, name=DEMO_VEHICLE_NAME, session_limit=3_000, daily_limit=10_000
    )
    registry.vehicle_top_up(vehicle=vehicle, amount=10_000, reference="demo-initial")
    station = ChargingStation.objects.filter(station_id=DEMO_STATION_ID).first() or registry.station_register(
        owner=dealer,
        station_id=DEMO_STATION_ID,
        name="Demo charging park",
        password=DEMO_STATION_PASSWORD,
        price_per_kwh=39,
        session_fee=50,
        idle_fee_per_minute=10,
        connector_count=2,
    )
    if station.review_status == StationReview.PENDING:
        reviewer = User.objects.get(email=reviewer_email)
        station = registry.station_review_decide(station=station, reviewer=reviewer, is_approved=True)
    registry.vehicle_operator_approve(vehicle=vehicle, operator=station.operator)
    if not ServicePoint.objects.filter(slug=DEMO_SERVICE_POINT).exists():
        registry.service_point_create(owner=dealer, slug=DEMO_SERVICE_POINT, name="Demo car park", kind="parking")
    if not ChargingSession.objects.filter(station=station, start_key="demo-1").exists():
        _demo_session(station=station, vehicle=vehicle)
    return MachinesDemo(vehicle.did, DEMO_STATION_ID, DEMO_STATION_PASSWORD, vehicle.id_token)


def _demo_session(*, station: ChargingStation, vehicle: Vehicle) -> None:
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=start,
        start_key="demo-1",
        ocpp_version="1.6",
        readings=[metering.Reading(start, 120_000)],
    )
    for minutes, register in [(15, 125_500), (30, 131_000), (45, 136_200)]:
        charging.meter_readings_record(
            station_id=station.station_id,
            transaction_id=outcome.transaction_id,
            source="meter_values",
            readings=[metering.Reading(start + dt.timedelta(minutes=minutes), register)],
        )
    session = charging.charging_session_end(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        ended_at=start + dt.timedelta(minutes=60),
        readings=[metering.Reading(start + dt.timedelta(minutes=60), 136_200)],
        reason="EVDisconnected",
    )
    charging_session_settle(session_id=session.pk)
