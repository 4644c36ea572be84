"""Acceptance 4: the invoice check recomputes the signed meter chain; a tampered reading is detected."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.roles import Role
from machines import metering
from machines.identities import machine_private_key_open
from machines.models import ChargingInvoice, MeterReading
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
