"""Pages of the machines app: owners' machines, sessions, invoices and chart; operators' live stations; back office."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from accounts.services import request_rate_exceeded
from core.confirmation import confirmation_page
from core.errors import ApplicationError
from core.idempotency import idempotent_form_run
from core.money import Money
from machines import charts, forms, selectors
from machines.models import Vehicle
from machines.services import registry, top_ups
from machines.services.settlement import charging_invoice_check
from payments.qr.selectors import qr_code_list_for_user

OWNERS = (Role.CUSTOMER, Role.DEALER, Role.BACK_OFFICE)
OPERATORS = (Role.DEALER, Role.BACK_OFFICE)


@require_GET
@role_required(*OWNERS)
def machines_home(request: HttpRequest) -> HttpResponse:
    """The owner's (or back office's) vehicles, stations, last sessions and the energy/spending chart."""
    user = request.user
    sessions = list(selectors.session_list_for_user(user=user)[:100])
    vehicles = list(selectors.vehicle_list_for_user(user=user))
    balances = {vehicle.pk: selectors.vehicle_balance_get(vehicle=vehicle) for vehicle in vehicles}
    context = {
        "vehicles": [(vehicle, balances[vehicle.pk]) for vehicle in vehicles],
        "stations": list(selectors.station_list_for_user(user=user)),
        "sessions": sessions[:20],
        "chart": charts.energy_spending_chart(selectors.energy_and_spending_by_day(sessions=sessions)),
        "is_operator": user.role in OPERATORS,
        "is_back_office": user.role == Role.BACK_OFFICE,
    }
    return render(request, "machines/home.html", context)


def _owner_for(request: HttpRequest, email: str) -> User:
    if request.user.role != Role.BACK_OFFICE or not email:
        return request.user  # type: ignore[return-value]
    owner = User.objects.filter(email__iexact=email).first()
    if owner is None:
        raise ApplicationError(
            gettext("No user has this e-mail address."), code="owner_unknown", fields={"owner_email": []}
        )
    return owner


@require_http_methods(["GET", "POST"])
@role_required(*OWNERS)
def vehicle_create(request: HttpRequest) -> HttpResponse:
    form = forms.VehicleForm(request.POST or None, is_back_office=request.user.role == Role.BACK_OFFICE)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vehicle = registry.vehicle_register(
                owner=_owner_for(request, data.get("owner_email", "")),
                name=data["name"],
                session_limit=forms.to_minor_units(data["session_limit"]),
                daily_limit=forms.to_minor_units(data["daily_limit"]),
            )
        except ApplicationError as error:
            form.add_error(next((name for name in error.fields if name in form.fields), None), error.detail)
        else:
            messages.success(
                request, gettext("%(name)s is registered as %(did)s.") % {"name": vehicle.name, "did": vehicle.did}
            )
            return redirect("machines:vehicle-detail", vehicle_id=vehicle.pk)
    return render(request, "machines/vehicle_form.html", {"form": form})


@require_GET
@role_required(*OWNERS)
def vehicle_detail(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    limits = forms.LimitsForm(
        initial={
            "session_limit": Money(vehicle.session_limit, vehicle.currency).to_decimal(),
            "daily_limit": Money(vehicle.daily_limit, vehicle.currency).to_decimal(),
        }
    )
    context = {
        "vehicle": vehicle,
        "balance": selectors.vehicle_balance_get(vehicle=vehicle),
        "sessions": selectors.session_list_for_vehicle(vehicle=vehicle),
        "payments": selectors.payment_list_for_vehicle(vehicle=vehicle),
        "limits_form": limits,
        "top_up_form": forms.TopUpForm() if request.user.role == Role.BACK_OFFICE else None,
        "is_owner": vehicle.owner_id == request.user.pk and request.user.role == Role.CUSTOMER,
    }
    return render(request, "machines/vehicle_detail.html", context)


def _operator_choices(offers: list[selectors.OperatorOffer]) -> list[tuple[int, str]]:
    return [(offer.operator_id, offer.name) for offer in offers if not offer.is_approved]


@require_http_methods(["GET", "POST"])
@role_required(*OWNERS)
def vehicle_operators(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """The charging operators the owner may approve for the vehicle, each with its stations' tariffs in EUR."""
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    offers = selectors.operator_offer_list_for_vehicle(vehicle=vehicle)
    form = forms.OperatorApprovalForm(request.POST or None, operator_choices=_operator_choices(offers))
    if request.method == "POST" and form.is_valid():
        operator = selectors.operator_get_for_approval(operator_id=form.cleaned_data["operator"])
        try:
            registry.vehicle_operator_approve(vehicle=vehicle, operator=operator)
        except ApplicationError:
            form.add_error("operator", _("This operator cannot be approved."))
        else:
            messages.success(
                request, _("%(operator)s may now charge this vehicle.") % {"operator": operator.display_name}
            )
            return redirect("machines:vehicle-operators", vehicle_id=vehicle.pk)
    context = {"vehicle": vehicle, "offers": offers, "form": form}
    return render(request, "machines/vehicle_operators.html", context, status=422 if form.errors else 200)


@require_POST
@role_required(*OWNERS)
def vehicle_operator_revoke(request: HttpRequest, vehicle_id: int, operator_id: int) -> HttpResponse:
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    operator = selectors.operator_get_for_approval(operator_id=operator_id)
    page = confirmation_page(
        request,
        title=_("Stop %(operator)s from charging this vehicle?") % {"operator": operator.display_name},
        consequence=_("The vehicle can no longer pay at this operator's stations until you approve it again."),
        action_label=_("Yes, revoke"),
        back_url=reverse("machines:vehicle-operators", args=[vehicle.pk]),
    )
    if page is not None:
        return page
    registry.vehicle_operator_revoke(vehicle=vehicle, operator=operator)
    messages.success(
        request, _("%(operator)s may no longer charge this vehicle.") % {"operator": operator.display_name}
    )
    return redirect("machines:vehicle-operators", vehicle_id=vehicle.pk)


@require_http_methods(["GET", "POST"])
@role_required(*OWNERS)
def vehicle_price_ceiling(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """The most the owner accepts per kWh, per session and per idle minute, in EUR."""
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    initial = {
        "max_price_per_kwh": Money(vehicle.max_price_per_kwh, vehicle.currency).to_decimal(),
        "max_session_fee": Money(vehicle.max_session_fee, vehicle.currency).to_decimal(),
        "max_idle_fee_per_minute": Money(vehicle.max_idle_fee_per_minute, vehicle.currency).to_decimal(),
    }
    form = forms.PriceCeilingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        registry.vehicle_price_ceiling_set(
            vehicle=vehicle,
            max_price_per_kwh=forms.to_minor_units(data["max_price_per_kwh"]),
            max_session_fee=forms.to_minor_units(data["max_session_fee"]),
            max_idle_fee_per_minute=forms.to_minor_units(data["max_idle_fee_per_minute"]),
        )
        messages.success(request, _("Price ceiling saved."))
        return redirect("machines:vehicle-operators", vehicle_id=vehicle.pk)
    context = {"vehicle": vehicle, "form": form}
    return render(request, "machines/vehicle_price_ceiling.html", context, status=422 if form.errors else 200)


@require_POST
@role_required(*OWNERS)
def vehicle_limits(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    form = forms.LimitsForm(request.POST)
    if form.is_valid():
        try:
            registry.vehicle_limits_set(
                vehicle=vehicle,
                session_limit=forms.to_minor_units(form.cleaned_data["session_limit"]),
                daily_limit=forms.to_minor_units(form.cleaned_data["daily_limit"]),
            )
            messages.success(request, gettext("Limits saved."))
        except ApplicationError as error:
            messages.error(request, error.detail)
    else:
        messages.error(request, gettext("Enter both limits in EUR."))
    return redirect("machines:vehicle-detail", vehicle_id=vehicle.pk)


@require_POST
@role_required(Role.BACK_OFFICE)
def vehicle_top_up(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """Back office records money received for a vehicle's wallet (bank transfer or card payment reference)."""
    vehicle = selectors.vehicle_get_for_user(user=request.user, vehicle_id=vehicle_id)
    form = forms.TopUpForm(request.POST)
    if form.is_valid():
        amount = forms.to_minor_units(form.cleaned_data["amount"])
        reference = form.cleaned_data["reference"]
        try:
            idempotent_form_run(
                request,
                operation="machines.vehicle_top_up",
                key=form.cleaned_data["idempotency_key"],
                payload={"amount": amount, "reference": reference},
                action=lambda: registry.vehicle_top_up(vehicle=vehicle, amount=amount, reference=reference)
                or {"amount": amount, "reference": reference},
            )
        except ApplicationError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, gettext("Top-up booked."))
    else:
        messages.error(request, gettext("Enter an amount and the payment's reference."))
    return redirect("machines:vehicle-detail", vehicle_id=vehicle.pk)


def _spendable_codes(user: User) -> list[tuple[str, str]]:
    return [
        (view.code.public_id.hex, gettext("Code %(code)s · %(available)s available")
         % {"code": view.code.short_id, "available": view.available})
        for view in qr_code_list_for_user(user=user)
        if view.is_active and view.available.amount > 0
    ]  # fmt: skip


def _top_up_book(request: HttpRequest, vehicle: Vehicle, form: forms.OwnerTopUpForm) -> dict[str, str]:
    """Moves the money (or places the card order) once per form key; returns where to go and what to say."""
    data, amount = form.cleaned_data, form.amount_minor_units()
    vehicle_path = reverse("machines:vehicle-detail", args=[vehicle.pk])

    def action() -> dict[str, str]:
        if data["source"] == "code":
            transfer_id = top_ups.vehicle_top_up_from_code(
                vehicle=vehicle, owner=request.user, code_public_id=uuid.UUID(data["code"]), amount=amount,
                key=data["idempotency_key"],
            )  # fmt: skip
            return {"transfer": str(transfer_id), "next": vehicle_path}
        start = top_ups.vehicle_top_up_by_card_start(
            vehicle=vehicle, owner=request.user, amount=amount, return_path=vehicle_path
        )
        return {"next": start.next_path}

    outcome = idempotent_form_run(
        request,
        operation="machines.vehicle_owner_top_up",
        key=data["idempotency_key"],
        payload={"source": data["source"], "code": data["code"], "amount": amount},
        action=action,
    )
    return outcome.body  # type: ignore[no-any-return]


@require_http_methods(["GET", "POST"])
@role_required(Role.CUSTOMER)
def vehicle_owner_top_up(request: HttpRequest, vehicle_id: int) -> HttpResponse:
    """The owner tops up the vehicle's wallet from a payment code or by card; a confirmation page comes first."""
    vehicle = selectors.vehicle_get_for_owner(user=request.user, vehicle_id=vehicle_id)
    form = forms.OwnerTopUpForm(request.POST or None, code_choices=_spendable_codes(request.user))
    status = 200
    if request.method == "POST":
        if request_rate_exceeded(
            scope="vehicle-top-up", client=f"user:{request.user.pk}",
            limit_per_minute=settings.VEHICLE_TOP_UP_RATE_PER_MINUTE,
        ):  # fmt: skip
            form.add_error(None, gettext("Too many top-ups in a short time. Wait a minute and try again."))
            response = render(request, "machines/vehicle_top_up.html", {"vehicle": vehicle, "form": form}, status=429)
            response["Retry-After"] = "60"
            return response
        if form.is_valid() and not form.cleaned_data["confirmed"]:
            return render(request, "machines/vehicle_top_up_confirm.html", _confirm_context(vehicle, form))
        if form.is_valid():
            try:
                booked = _top_up_book(request, vehicle, form)
            except ApplicationError as error:
                form.add_error(next((name for name in error.fields if name in form.fields), None), error.detail)
            else:
                if "transfer" in booked:
                    messages.success(request, gettext("The wallet is topped up."))
                return redirect(booked["next"])
        status = 422
    return render(request, "machines/vehicle_top_up.html", {"vehicle": vehicle, "form": form}, status=status)


def _confirm_context(vehicle: Vehicle, form: forms.OwnerTopUpForm) -> dict[str, object]:
    data = form.cleaned_data
    code_label = dict(form.fields["code"].choices).get(data["code"], "") if data["source"] == "code" else ""
    confirm = forms.OwnerTopUpForm(
        initial={**data, "confirmed": True},
        code_choices=[(value, str(label)) for value, label in form.fields["code"].choices if value],
    )
    return {
        "vehicle": vehicle,
        "amount": Money(form.amount_minor_units(), vehicle.currency),
        "is_card": data["source"] == "card",
        "code_label": code_label,
        "confirm_form": confirm,
    }


@require_http_methods(["GET", "POST"])
@role_required(*OPERATORS)
def station_create(request: HttpRequest) -> HttpResponse:
    form = forms.StationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            station = registry.station_register(
                owner=request.user,
                station_id=data["station_id"],
                name=data["name"],
                password=data["password"],
                price_per_kwh=forms.to_minor_units(data["price_per_kwh"]),
                session_fee=forms.to_minor_units(data["session_fee"]),
                idle_fee_per_minute=forms.to_minor_units(data["idle_fee_per_minute"]),
                connector_count=data["connector_count"],
            )
        except ApplicationError as error:
            form.add_error(None, error.detail)
        else:
            messages.success(
                request,
                _("Station %(station)s is registered. It can charge vehicles once back office has approved it.")
                % {"station": station.station_id},
            )
            return redirect("machines:station-detail", station_pk=station.pk)
    return render(request, "machines/station_form.html", {"form": form})


@require_GET
@role_required(Role.BACK_OFFICE)
def station_review_list(request: HttpRequest) -> HttpResponse:
    """Registered stations waiting for back office: owner, operator, tariff in EUR; approve or decline each."""
    reviews = [
        (station, forms.StationReviewForm(auto_id=f"review-{station.pk}-%s"))
        for station in selectors.station_review_list()
    ]
    context = {"reviews": reviews}
    return render(request, "machines/station_review_list.html", context)


@require_POST
@role_required(Role.BACK_OFFICE)
def station_review(request: HttpRequest, station_pk: int) -> HttpResponse:
    station = selectors.station_get_for_review(station_pk=station_pk)
    form = forms.StationReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or decline."))
        return redirect("machines:station-review-list")
    try:
        registry.station_review_decide(
            station=station, reviewer=request.user, is_approved=form.cleaned_data["decision"] == "approve"
        )
    except ApplicationError:
        messages.error(request, _("Station %(station)s has already been reviewed.") % {"station": station.station_id})
    else:
        messages.success(request, _("Station %(station)s is reviewed.") % {"station": station.station_id})
    return redirect("machines:station-review-list")


@require_GET
@role_required(*OPERATORS)
def station_detail(request: HttpRequest, station_pk: int) -> HttpResponse:
    station = selectors.station_get_for_user(user=request.user, station_pk=station_pk)
    sessions = selectors.session_list_for_user(user=request.user).filter(station=station)[:50]
    ocpp_url = request.build_absolute_uri(f"/ocpp/{station.station_id}").replace("http", "ws", 1)
    return render(
        request, "machines/station_detail.html", {"station": station, "sessions": sessions, "ocpp_url": ocpp_url}
    )


@require_GET
@role_required(*OPERATORS)
def station_live(request: HttpRequest) -> HttpResponse:
    """Stations with their connection and charging state; static/js/refresh.js keeps the table current by asking
    `station_live_data` and putting its table in place whenever it differs."""
    table = _station_live_table(request)
    return render(request, "machines/station_live.html", {"table_html": table.html, "table_state": table.state})


@require_GET
@role_required(*OPERATORS)
def station_live_data(request: HttpRequest) -> JsonResponse:
    """The live table for refresh.js: ``status`` names what is shown (a digest of the table as drawn for this reader:
    words in their language, times in their zone), ``outcomeHtml`` is that table; ``stations`` the same as data."""
    table = _station_live_table(request)
    response = JsonResponse(
        {
            "status": table.state,
            "outcomeHtml": table.html,
            "stations": [
                {
                    "station_id": s.station_id,
                    "name": s.name,
                    "is_connected": s.is_connected,
                    "status": s.status,
                    "active_sessions": s.active_sessions,
                    "last_seen_at": s.last_seen_at.isoformat() if s.last_seen_at else None,
                }
                for s in table.stations
            ],
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@dataclass(frozen=True)
class _StationLiveTable:
    stations: list[selectors.StationLive]
    html: str
    state: str


def _station_live_table(request: HttpRequest) -> _StationLiveTable:
    """The table drawn once, for the page and for its updates alike, so an unchanged table has an unchanged state."""
    stations = selectors.station_live_list_for_user(user=request.user)
    html = render_to_string("machines/_station_live_table.html", {"stations": stations}, request=request)
    return _StationLiveTable(stations, html, hashlib.sha256(html.encode()).hexdigest()[:16])


def _iota_rate_source_label(source: str) -> str:
    """Where the invoice's EUR/IOTA rate came from, in words: the stored source names a setting or a rate-table row."""
    if source.startswith("setting "):
        return gettext("FinLab's fixed conversion rate")
    return gettext("published rate, %(source)s") % {"source": source.split(": ", 1)[-1]}


# Where a signed reading came from, in words (the stored `source` is the OCPP message's name).
READING_SOURCE_LABELS = {
    "start": gettext_lazy("Session start"),
    "meter_values": gettext_lazy("Meter values from the station"),
    "transaction_event": gettext_lazy("Transaction event from the station"),
    "stop": gettext_lazy("Session end"),
}


@require_GET
@role_required(*OWNERS)
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """An invoice with its check against the signed, anchored meter chain."""
    invoice = selectors.invoice_get_for_user(user=request.user, invoice_id=invoice_id)
    context = {
        "invoice": invoice,
        "session": invoice.session,
        "readings": [
            (reading, READING_SOURCE_LABELS.get(reading.source, reading.source))
            for reading in invoice.session.readings.order_by("sequence")
        ],
        "check": charging_invoice_check(invoice=invoice),
        "iota_rate_source": _iota_rate_source_label(invoice.iota_rate_source),
    }
    return render(request, "machines/invoice_detail.html", context)
