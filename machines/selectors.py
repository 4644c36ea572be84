"""Reads of the machines app with their access rules: owners see their machines, back office sees everything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from machines import wallets
from machines.models import (
    ChargingInvoice,
    ChargingSession,
    ChargingStation,
    MachinePayment,
    Operator,
    StationReview,
    StationStatus,
    StationTariff,
    Vehicle,
    VehicleOperatorApproval,
)
from machines.services.charging import tariff_exceeds_ceiling
from payments.ledger.client import AccountBalance


def _is_back_office(user: User) -> bool:
    return user.role == Role.BACK_OFFICE


def vehicle_list_for_user(*, user: User) -> QuerySet[Vehicle]:
    vehicles = Vehicle.objects.select_related("owner").order_by("id")
    return vehicles if _is_back_office(user) else vehicles.filter(owner=user)


def vehicle_get_for_user(*, user: User, vehicle_id: int) -> Vehicle:
    """The vehicle if the user owns it or is back office; 404 for missing and for not yours alike."""
    vehicle = vehicle_list_for_user(user=user).filter(pk=vehicle_id).first()
    if vehicle is None:
        raise Http404("No such vehicle.")
    return vehicle


def vehicle_get_for_owner(*, user: User, vehicle_id: int) -> Vehicle:
    """The vehicle if `user` owns it; 404 for missing and for anyone else's alike (back office included: moving an
    owner's money into the wallet is the owner's decision)."""
    vehicle = Vehicle.objects.filter(pk=vehicle_id, owner=user).first()
    if vehicle is None:
        raise Http404("No such vehicle.")
    return vehicle


def station_list_for_user(*, user: User) -> QuerySet[ChargingStation]:
    stations = ChargingStation.objects.select_related("owner", "operator").order_by("id")
    return stations if _is_back_office(user) else stations.filter(owner=user)


def station_get_for_user(*, user: User, station_pk: int) -> ChargingStation:
    station = station_list_for_user(user=user).filter(pk=station_pk).first()
    if station is None:
        raise Http404("No such station.")
    return station


def session_list_for_user(*, user: User) -> QuerySet[ChargingSession]:
    """Sessions of the user's vehicles and of the user's stations (all for back office), newest first."""
    sessions = ChargingSession.objects.select_related("station", "vehicle", "invoice").order_by("-started_at", "-id")
    if _is_back_office(user):
        return sessions
    return sessions.filter(vehicle__owner=user) | sessions.filter(station__owner=user)


def session_list_for_vehicle(*, vehicle: Vehicle, limit: int = 50) -> list[ChargingSession]:
    return list(
        ChargingSession.objects.select_related("station", "invoice")
        .filter(vehicle=vehicle)
        .order_by("-started_at", "-id")[:limit]
    )


def invoice_get_for_user(*, user: User, invoice_id: int) -> ChargingInvoice:
    """An invoice its vehicle's owner, its station's owner or back office may see; 404 otherwise."""
    invoice = (
        ChargingInvoice.objects.select_related("session__station", "session__vehicle").filter(pk=invoice_id).first()
    )
    allowed = invoice is not None and (
        _is_back_office(user) or user.pk in (invoice.session.vehicle.owner_id, invoice.session.station.owner_id)
    )
    if not allowed:
        raise Http404("No such invoice.")
    return invoice  # type: ignore[return-value]


def payment_list_for_vehicle(*, vehicle: Vehicle, limit: int = 50) -> list[MachinePayment]:
    return list(MachinePayment.objects.select_related("service_point").filter(vehicle=vehicle)[:limit])


def vehicle_balance_get(*, vehicle: Vehicle) -> AccountBalance:
    return wallets.wallet_balance_get(account_id=vehicle.wallet_account_id)


@dataclass(frozen=True)
class ChartPoint:
    """One day of a chart: energy in Wh and spending in minor units."""

    day: dt.date
    energy_wh: int
    spent: int


def energy_and_spending_by_day(*, sessions: list[ChargingSession], zone: dt.tzinfo | None = None) -> list[ChartPoint]:
    """Settled sessions summed per calendar day of their start in `zone` (default: the reader's zone, activated per
    request), oldest first: a session started at 00:51 Berlin time counts for that Berlin day, not the UTC day before."""
    zone = zone or timezone.get_current_timezone()
    days: dict[dt.date, tuple[int, int]] = {}
    for session in sessions:
        invoice = getattr(session, "invoice", None) if session.status == "settled" else None
        if invoice is None:
            continue
        day = session.started_at.astimezone(zone).date()
        energy, spent = days.get(day, (0, 0))
        days[day] = (energy + invoice.energy_wh, spent + invoice.charged_amount)
    return [ChartPoint(day, energy, spent) for day, (energy, spent) in sorted(days.items())]


@dataclass(frozen=True)
class StationLive:
    station_id: str
    name: str
    is_connected: bool
    status: str
    last_seen_at: dt.datetime | None
    active_sessions: int

    @property
    def status_label(self) -> str:
        """The status in the reader's language ("Available" / "Verfügbar"); `status` stays the OCPP value."""
        return str(StationStatus(self.status).label) if self.status in StationStatus.values else self.status


def station_live_list_for_user(*, user: User) -> list[StationLive]:
    """Connection and charging state of the user's stations (all for back office)."""
    stations = list(station_list_for_user(user=user))
    active = set(
        ChargingSession.objects.filter(station__in=stations, status="active").values_list("station_id", flat=True)
    )
    counts = dict.fromkeys(active, 0)
    for station_pk in ChargingSession.objects.filter(station__in=stations, status="active").values_list(
        "station_id", flat=True
    ):
        counts[station_pk] += 1
    return [
        StationLive(s.station_id, s.name, s.is_connected, s.status, s.last_seen_at, counts.get(s.pk, 0))
        for s in stations
    ]


@dataclass(frozen=True)
class StationOffer:
    """An approved station of an operator with its current tariff version, as a vehicle owner sees it."""

    name: str
    tariff: StationTariff
    is_within_ceiling: bool


@dataclass(frozen=True)
class OperatorOffer:
    operator_id: int
    name: str
    is_approved: bool
    stations: list[StationOffer]


def _tariffs_current(stations: list[ChargingStation]) -> dict[int, StationTariff]:
    current: dict[int, StationTariff] = {}
    for tariff in StationTariff.objects.filter(station__in=stations).order_by("station_id", "-version"):
        current.setdefault(tariff.station_id, tariff)
    return current


def operator_offer_list_for_vehicle(*, vehicle: Vehicle) -> list[OperatorOffer]:
    """Operators with at least one station approved by back office, each with those stations' current tariffs, and
    whether the vehicle's owner has approved the operator."""
    stations = list(
        ChargingStation.objects.select_related("operator__owner__dealer_organisation")
        .filter(review_status=StationReview.APPROVED, is_active=True)
        .order_by("operator_id", "name", "id")
    )
    tariffs = _tariffs_current(stations)
    approved = set(
        VehicleOperatorApproval.objects.filter(vehicle=vehicle, revoked_at__isnull=True).values_list(
            "operator_id", flat=True
        )
    )
    offers: dict[int, OperatorOffer] = {}
    for station in stations:
        operator = station.operator
        offer = offers.setdefault(
            operator.pk, OperatorOffer(operator.pk, operator.display_name, operator.pk in approved, [])
        )
        tariff = tariffs[station.pk]
        offer.stations.append(
            StationOffer(station.name, tariff, not tariff_exceeds_ceiling(vehicle=vehicle, tariff=tariff))
        )
    return list(offers.values())


def operator_get_for_approval(*, operator_id: int) -> Operator:
    """An operator a vehicle owner may approve or revoke: one with a station approved by back office; 404 otherwise."""
    operator = (
        Operator.objects.filter(pk=operator_id, stations__review_status=StationReview.APPROVED).distinct().first()
    )
    if operator is None:
        raise Http404("No such operator.")
    return operator


def station_review_list() -> list[ChargingStation]:
    """Stations waiting for back office's review, oldest first, with their current tariff on `current_tariff`."""
    stations = list(
        ChargingStation.objects.select_related("owner", "operator__owner__dealer_organisation")
        .filter(review_status=StationReview.PENDING)
        .order_by("created_at", "id")
    )
    tariffs = _tariffs_current(stations)
    for station in stations:
        station.current_tariff = tariffs.get(station.pk)  # type: ignore[attr-defined]
    return stations


def station_get_for_review(*, station_pk: int) -> ChargingStation:
    station = ChargingStation.objects.filter(pk=station_pk).first()
    if station is None:
        raise Http404("No such station.")
    return station
