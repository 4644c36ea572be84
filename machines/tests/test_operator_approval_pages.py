"""Pages of the approval rules: id tags made by the portal, back-office review of station registrations, and the
owner's operator approvals and price ceiling, with errors next to the fields and nothing changed on a refusal."""

from __future__ import annotations

import re

import pytest

from accounts.roles import Role
from machines.models import ChargingStation, StationReview, Vehicle, VehicleOperatorApproval
from machines.services import charging, registry
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db


def test_the_portal_makes_random_id_tags_and_registration_never_says_a_tag_is_taken(make_user, client_for):
    owner = make_user(Role.CUSTOMER)
    victim = vehicle_make(owner=make_user(Role.CUSTOMER))
    client = client_for(owner)

    responses = [
        client.post(
            "/machines/vehicles/new",
            {"name": name, "id_token": victim.id_token, "session_limit": "30", "daily_limit": "100"},
        )
        for name in ("First car", "Second car")
    ]

    tags = list(Vehicle.objects.filter(owner=owner).order_by("id").values_list("id_token", flat=True))
    assert [response.status_code for response in responses] == [302, 302]
    assert all(re.fullmatch(r"[0-9A-F]{20}", tag) for tag in [*tags, victim.id_token])
    assert len({*tags, victim.id_token}) == 3
    form = client.get("/machines/vehicles/new")
    assert b"id_token" not in form.content and b"taken" not in form.content


def test_back_office_approves_or_declines_a_registration_once_and_a_declined_station_charges_nobody(
    make_user, client_for
):
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER))
    dealer = make_user(Role.DEALER)
    pending = station_make(owner=dealer, is_reviewed=False, session_fee=999_999)
    declined = station_make(owner=dealer, is_reviewed=False)
    back_office = client_for(make_user(Role.BACK_OFFICE))

    listing = back_office.get("/machines/stations/review/")
    by_dealer = client_for(dealer).post(f"/machines/stations/{pending.pk}/review", {"decision": "approve"})
    approve = back_office.post(f"/machines/stations/{pending.pk}/review", {"decision": "approve"})
    decline = back_office.post(f"/machines/stations/{declined.pk}/review", {"decision": "decline"})
    again = back_office.post(f"/machines/stations/{declined.pk}/review", {"decision": "approve"}, follow=True)

    assert listing.status_code == 200
    assert pending.station_id.encode() in listing.content and "€9,999.99 per session" in listing.content.decode()
    assert (by_dealer.status_code, approve.status_code, decline.status_code) == (403, 302, 302)
    assert b"has already been reviewed" in again.content
    states = dict(ChargingStation.objects.filter(owner=dealer).values_list("pk", "review_status"))
    assert states == {pending.pk: StationReview.APPROVED, declined.pk: StationReview.DECLINED}
    assert pending.station_id.encode() not in back_office.get("/machines/stations/review/").content
    # Even with the owner's approval of the operator (earned by the approved station), the declined one refuses.
    registry.vehicle_operator_approve(vehicle=vehicle, operator=declined.operator)
    answer = charging.id_token_authorize(station_id=declined.station_id, id_token=vehicle.id_token)
    assert answer is charging.AuthorizationStatus.INVALID


def test_the_owner_sees_tariffs_in_euros_approves_and_withdraws_an_operator(make_user, client_for):
    owner = make_user(Role.CUSTOMER)
    vehicle = vehicle_make(owner=owner)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=39, session_fee=50, idle_fee_per_minute=10)
    station_make(owner=make_user(Role.DEALER), is_reviewed=False)
    client = client_for(owner)

    page = client.get(f"/machines/vehicles/{vehicle.pk}/operators")
    wrong = client.post(f"/machines/vehicles/{vehicle.pk}/operators", {"operator": "999999"})
    before = charging.id_token_authorize(station_id=station.station_id, id_token=vehicle.id_token)
    approved = client.post(f"/machines/vehicles/{vehicle.pk}/operators", {"operator": str(station.operator_id)})
    after = charging.id_token_authorize(station_id=station.station_id, id_token=vehicle.id_token)

    assert page.status_code == 200
    text = page.content.decode()
    assert station.operator.display_name in text
    assert "<td>€0.39</td><td>€0.50</td><td>€0.10 after 15 minutes</td>" in text
    assert text.count('data-testid="operator-') == 1  # the station waiting for review offers nothing
    assert wrong.status_code == 422
    assert re.search(r'<p class="field-error" id="id_operator_error" role="alert">', wrong.content.decode())
    assert (before, approved.status_code, after) == (
        charging.AuthorizationStatus.INVALID,
        302,
        charging.AuthorizationStatus.ACCEPTED,
    )

    other = client_for(make_user(Role.CUSTOMER)).post(
        f"/machines/vehicles/{vehicle.pk}/operators/{station.operator_id}/revoke"
    )
    revoked = client.post(
        f"/machines/vehicles/{vehicle.pk}/operators/{station.operator_id}/revoke", {"confirmed": "yes"}
    )

    assert (other.status_code, revoked.status_code) == (404, 302)
    assert VehicleOperatorApproval.objects.get(vehicle=vehicle).revoked_at is not None
    answer = charging.id_token_authorize(station_id=station.station_id, id_token=vehicle.id_token)
    assert answer is charging.AuthorizationStatus.INVALID


def test_the_price_ceiling_form_shows_errors_next_to_fields_and_changes_nothing_when_refused(make_user, client_for):
    owner = make_user(Role.CUSTOMER)
    vehicle = vehicle_make(owner=owner)
    client = client_for(owner)

    page = client.get(f"/machines/vehicles/{vehicle.pk}/price-ceiling")
    refused = client.post(
        f"/machines/vehicles/{vehicle.pk}/price-ceiling",
        {"max_price_per_kwh": "-0.10", "max_session_fee": "abc", "max_idle_fee_per_minute": "0.20"},
    )
    vehicle.refresh_from_db()
    unchanged = (vehicle.max_price_per_kwh, vehicle.max_session_fee, vehicle.max_idle_fee_per_minute)
    saved = client.post(
        f"/machines/vehicles/{vehicle.pk}/price-ceiling",
        {"max_price_per_kwh": "0.59", "max_session_fee": "1.00", "max_idle_fee_per_minute": "0.00"},
    )
    stranger = client_for(make_user(Role.CUSTOMER)).post(
        f"/machines/vehicles/{vehicle.pk}/price-ceiling",
        {"max_price_per_kwh": "9.99", "max_session_fee": "99.99", "max_idle_fee_per_minute": "9.99"},
    )

    assert page.status_code == 200 and b'value="1.00"' in page.content and b'value="5.00"' in page.content
    assert refused.status_code == 422
    errors = re.findall(r'id="id_(\w+)_error"', refused.content.decode())
    assert errors == ["max_price_per_kwh", "max_session_fee"]
    assert unchanged == (100, 500, 50)
    assert (saved.status_code, stranger.status_code) == (302, 404)
    vehicle.refresh_from_db()
    assert (vehicle.max_price_per_kwh, vehicle.max_session_fee, vehicle.max_idle_fee_per_minute) == (59, 100, 0)
