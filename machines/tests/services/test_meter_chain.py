"""Acceptance 4: the invoice check recomputes the signed meter chain; a tampered reading is detected."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.roles import Role
from machines import metering
from machines.identities import machine_private_key_open
from machines.models import ChargingInvoice, ChargingSession, MeterReading
from machines.services import charging
from machines.services.settlement import charging_invoice_check, charging_session_settle
from machines.tests.factories import station_make, vehicle_make

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def invoice(make_user) -> ChargingInvoice:
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=START,
        start_key="chain",
        ocpp_version="1.6",
        readings=[metering.Reading(START, 0)],
    )
    for minutes, energy in [(10, 3_000), (20, 6_000)]:
        charging.meter_readings_record(
            station_id=station.station_id,
            transaction_id=outcome.transaction_id,
            source="meter_values",
            readings=[metering.Reading(START + dt.timedelta(minutes=minutes), energy)],
        )
    session = charging.charging_session_end(
        station_id=station.station_id,
        transaction_id=outcome.transaction_id,
        ended_at=START + dt.timedelta(minutes=30),
        readings=[metering.Reading(START + dt.timedelta(minutes=30), 9_000)],
    )
    return charging_session_settle(session_id=session.pk).invoice


def test_an_untouched_invoice_checks_against_its_chain(invoice):
    assert charging_invoice_check(invoice=invoice).is_valid is True
    assert (invoice.energy_wh, invoice.total_amount, invoice.reading_count) == (9_000, 360, 4)


def test_a_tampered_reading_fails_the_invoice_check(invoice):
    MeterReading.objects.filter(session=invoice.session, sequence=2).update(energy_wh=1_000)

    check = charging_invoice_check(invoice=invoice)

    assert (check.is_valid, check.reason, check.sequence) == (False, "reading_hash_mismatch", 2)


def test_a_rehashed_reading_without_the_station_key_fails_on_its_signature(invoice):
    reading = MeterReading.objects.get(session=invoice.session, sequence=4)
    forged = metering.record_hash(
        previous_hash=reading.previous_hash,
        sequence=4,
        measured_at=reading.measured_at,
        energy_wh=12_000,
        source=reading.source,
    )
    MeterReading.objects.filter(pk=reading.pk).update(energy_wh=12_000, record_hash=forged)

    check = charging_invoice_check(invoice=invoice)

    assert (check.is_valid, check.reason) == (False, "chain_head_not_anchored")


def test_a_resigned_chain_does_not_match_the_anchored_leaf(invoice):
    station = invoice.session.station
    key = machine_private_key_open(did=station.did, encrypted_private_key=station.encrypted_private_key)
    reading = MeterReading.objects.get(session=invoice.session, sequence=4)
    forged = metering.record_hash(
        previous_hash=reading.previous_hash,
        sequence=4,
        measured_at=reading.measured_at,
        energy_wh=12_000,
        source=reading.source,
    )
    MeterReading.objects.filter(pk=reading.pk).update(
        energy_wh=12_000, record_hash=forged, signature=metering.record_sign(private_key=key, record_hash_hex=forged)
    )

    check = charging_invoice_check(invoice=invoice)

    assert (check.is_valid, check.reason) == (False, "chain_head_not_anchored")


def test_a_reading_with_a_forged_signature_fails(invoice):
    MeterReading.objects.filter(session=invoice.session, sequence=3).update(signature="00" * 64)

    check = charging_invoice_check(invoice=invoice)

    assert (check.is_valid, check.reason, check.sequence) == (False, "reading_signature_invalid", 3)


def test_settling_twice_posts_once(invoice):
    again = charging_session_settle(session_id=invoice.session_id)

    assert again.status == "settled"
    assert ChargingInvoice.objects.filter(session=invoice.session).count() == 1


def test_settling_queues_the_chain_head_for_tangle_anchoring(invoice):
    from identity.models import AnchorLeaf

    leaf = AnchorLeaf.objects.get(source="meter_chain")

    assert leaf.leaf_hash == invoice.anchor_leaf
    assert invoice.anchor_reference == str(leaf.pk)
    assert leaf.state == "pending"


@pytest.fixture
def memory_tangle():
    from identity.tests.conftest import MemoryTangle

    return MemoryTangle()


@pytest.fixture
def anchored_invoice(invoice, memory_tangle) -> ChargingInvoice:
    """The invoice after identity's anchoring run has put its leaf's batch root on the (in-memory) Tangle."""
    from identity.services.anchoring import anchor_pending_leaves_run

    assert anchor_pending_leaves_run(anchor=memory_tangle).leaves_anchored >= 1
    return invoice


def test_an_anchored_invoice_checks_against_its_proof_and_the_block_on_the_tangle(anchored_invoice, memory_tangle):
    check = charging_invoice_check(invoice=anchored_invoice, anchor=memory_tangle)

    assert (check.is_valid, check.reason) == (True, "")


def test_a_tampered_reading_fails_the_check_of_an_anchored_invoice(anchored_invoice, memory_tangle):
    MeterReading.objects.filter(session=anchored_invoice.session, sequence=2).update(energy_wh=2_500)

    check = charging_invoice_check(invoice=anchored_invoice, anchor=memory_tangle)

    assert check.is_valid is False


def test_a_forged_inclusion_proof_fails_the_check(anchored_invoice):
    from identity.models import AnchorLeaf

    leaf = AnchorLeaf.objects.get(leaf_hash=anchored_invoice.anchor_leaf)
    proof = dict(leaf.proof)
    proof["audit_path"] = ["00" * 32 for _ in proof["audit_path"]] or ["00" * 32]
    AnchorLeaf.objects.filter(pk=leaf.pk).update(proof=proof)

    check = charging_invoice_check(invoice=anchored_invoice)

    assert (check.is_valid, check.reason) == (False, "anchor_proof_invalid")


def test_a_block_that_does_not_carry_the_root_fails_the_check(anchored_invoice, memory_tangle):
    from identity.tangle.block import TaggedData

    for block_id, block in list(memory_tangle.blocks.items()):
        memory_tangle.blocks[block_id] = TaggedData(tag=block.tag, data=b"\x00" * len(block.data))

    check = charging_invoice_check(invoice=anchored_invoice, anchor=memory_tangle)

    assert (check.is_valid, check.reason) == (False, "anchor_proof_invalid")


def _session_open(make_user) -> tuple[str, str]:
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER), balance=5_000)
    station = station_make(owner=make_user(Role.DEALER), price_per_kwh=40, session_fee=0, accepted_by=[vehicle])
    outcome = charging.charging_session_start(
        station_id=station.station_id,
        connector_id=1,
        id_token=vehicle.id_token,
        started_at=START,
        start_key="held-key",
        ocpp_version="1.6",
        readings=[metering.Reading(START, 0)],
    )
    return station.station_id, outcome.transaction_id


@pytest.mark.parametrize("database", ["postgresql", "other"])
def test_readings_of_a_connection_make_the_same_valid_chain_in_plain_sql_and_through_the_orm(
    make_user, database, monkeypatch
):
    """PostgreSQL takes three plain statements per meter value; other databases (the embedded SQLite of `make run`)
    the ORM. Both append the same chain and refuse the same readings."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("compares PostgreSQL's statements with the ORM's")
    station_id, transaction_id = _session_open(make_user)
    station = charging.station_for_connection(station_id=station_id)
    if database == "other":
        monkeypatch.setattr(connection, "vendor", "sqlite")
    minute = dt.timedelta(minutes=1)

    def record(*readings: metering.Reading) -> int:
        return charging.meter_readings_record(
            station_id=station_id,
            transaction_id=transaction_id,
            readings=list(readings),
            source="meter_values",
            station=station,
        )

    assert record(metering.Reading(START + 20 * minute, 4_000), metering.Reading(START + 10 * minute, 2_000)) == 2
    assert record(metering.Reading(START + 15 * minute, 3_000)) == 1  # late, between its neighbours
    assert record(metering.Reading(START + 10 * minute, 2_000)) == 0  # repeated
    with pytest.raises(charging.ChargingRefused):
        record(metering.Reading(START + 30 * minute, 3_500))  # lower than an earlier reading
    with pytest.raises(charging.TransactionConflict):
        record(metering.Reading(START + 20 * minute, 4_100))  # another value for a recorded moment
    session = charging.charging_session_end(
        station_id=station_id,
        transaction_id=transaction_id,
        ended_at=START + 40 * minute,
        readings=[metering.Reading(START + 40 * minute, 5_000)],
    )

    assert (session.meter_start_wh, session.meter_stop_wh, session.last_increase_at) == (0, 5_000, START + 40 * minute)
    assert list(session.readings.order_by("sequence").values_list("sequence", "energy_wh")) == [
        (1, 0),
        (2, 2_000),
        (3, 4_000),
        (4, 3_000),
        (5, 5_000),
    ]
    invoice = charging_session_settle(session_id=session.pk).invoice
    assert charging_invoice_check(invoice=invoice).is_valid is True


@pytest.mark.django_db(transaction=True)
def test_meter_values_of_one_session_on_two_connections_at_once_extend_one_chain(make_user):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    station_id, transaction_id = _session_open(make_user)

    def record(minutes: int) -> int:
        try:
            return charging.meter_readings_record(
                station_id=station_id,
                transaction_id=transaction_id,
                readings=[metering.Reading(START + dt.timedelta(minutes=minutes), minutes * 100)],
                source="meter_values",
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        appended = list(pool.map(record, range(1, 21)))

    assert sum(appended) == 20
    session = charging.charging_session_end(
        station_id=station_id,
        transaction_id=transaction_id,
        ended_at=START + dt.timedelta(minutes=30),
        readings=[metering.Reading(START + dt.timedelta(minutes=30), 3_000)],
    )
    assert list(session.readings.values_list("sequence", flat=True).order_by("sequence")) == list(range(1, 23))
    invoice = charging_session_settle(session_id=session.pk).invoice
    assert charging_invoice_check(invoice=invoice).is_valid is True


@pytest.mark.parametrize("database", ["postgresql", "other"])
def test_meter_values_of_many_stations_in_one_batch_are_recorded_as_if_each_came_alone(
    make_user, database, monkeypatch
):
    """The gateway's batch (`meter_readings_record_many`): each message gets its own outcome, a refused one changes
    nothing, two for one session extend its chain in their order, and the chains are those the same messages make one
    at a time. On PostgreSQL the whole batch takes three statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("compares PostgreSQL's statements with the ORM's")
    minute = dt.timedelta(minutes=1)
    batched, alone = (
        [charging.station_for_connection(station_id=station_id) for station_id, _ in opened]
        for opened in ([_session_open(make_user) for _ in range(2)] for _ in range(2))
    )
    transactions = {
        station.pk: ChargingSession.objects.get(station=station).transaction_id for station in [*batched, *alone]
    }

    def messages(first, second) -> list[charging.MeterValues]:
        def message(station, *readings: metering.Reading, transaction_id: str = "") -> charging.MeterValues:
            return charging.MeterValues(
                station, transaction_id or transactions[station.pk], list(readings), "meter_values"
            )

        return [
            message(first, metering.Reading(START + 10 * minute, 2_000), metering.Reading(START + 5 * minute, 1_000)),
            message(second, metering.Reading(START + 10 * minute, 500)),
            message(first, metering.Reading(START + 20 * minute, 4_000)),  # after the first in the same batch
            message(first, metering.Reading(START + 10 * minute, 2_000)),  # repeated: nothing new
            message(second, metering.Reading(START + 20 * minute, 400)),  # lower than the reading before it
            message(first, metering.Reading(START + 20 * minute, 4_100)),  # another value for a recorded moment
            message(second, metering.Reading(START + 30 * minute, 900), transaction_id="999999"),  # unknown
            message(second, metering.Reading(START + 15 * minute, 700)),
        ]

    if database == "other":
        monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as statements:
        outcomes = charging.meter_readings_record_many(messages=messages(*batched))
    one_at_a_time = [charging.meter_readings_record_many(messages=[each])[0] for each in messages(*alone)]

    def described(outcome) -> object:
        return outcome.code if isinstance(outcome, charging.ApplicationError) else outcome

    expected = [2, 1, 1, 0, "meter_reading_decreasing", "meter_reading_conflict", "transaction_unknown", 1]
    assert [described(outcome) for outcome in outcomes] == expected
    assert [described(outcome) for outcome in one_at_a_time] == expected
    if database == "postgresql":  # the test's own transaction adds a savepoint around them
        sent = [query["sql"] for query in statements.captured_queries if "SAVEPOINT" not in query["sql"]]
        assert len(sent) == 3

    def chain(station) -> list[tuple]:
        session = ChargingSession.objects.get(station=station)
        readings = session.readings.order_by("sequence").values_list("sequence", "measured_at", "energy_wh")
        return [(session.meter_start_wh, session.meter_stop_wh, session.last_increase_at), *readings]

    assert [chain(station) for station in batched] == [chain(station) for station in alone]
    assert chain(batched[0])[0] == (0, 4_000, START + 20 * minute)
    assert [energy for _, _, energy in chain(batched[1])[1:]] == [0, 500, 700]
    for station in batched:
        session = charging.charging_session_end(
            station_id=station.station_id,
            transaction_id=transactions[station.pk],
            ended_at=START + 40 * minute,
            readings=[metering.Reading(START + 40 * minute, 5_000)],
        )
        invoice = charging_session_settle(session_id=session.pk).invoice
        assert charging_invoice_check(invoice=invoice).is_valid is True
