"""Settling ended charging sessions: invoice, ledger post of the metered amount, anchoring of the meter chain.

`charging_session_settle` is what the Celery task runs. It is idempotent on (station, transaction id): the session row
is locked, a settled session is left alone, and the ledger resolution has an id derived from the station and the
transaction, so even a second copy racing the first posts nothing twice (`exists`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from identity.services.anchoring import anchor_proof_verify
from identity.tangle.anchor import Anchor
from machines import anchoring, metering, wallets
from machines.models import ChargingInvoice, ChargingSession, IotaRate, SessionStatus
from machines.notifications import charging_invoice_issued_notify
from payments.ledger.client import LedgerRefused

SWEEP_BATCH_SIZE = 500


@dataclass(frozen=True)
class RateSnapshot:
    eur_per_iota: Decimal
    source: str


@dataclass(frozen=True)
class InvoiceCheck:
    """Result of checking an invoice against its signed meter chain and anchored leaf; `reason` "" when valid."""

    is_valid: bool
    reason: str = ""
    sequence: int | None = None


def iota_rate_at(*, moment: dt.datetime) -> RateSnapshot:
    """The EUR/IOTA rate in force at `moment`: the rate table first, else the MACHINES_IOTA_EUR_RATE setting."""
    rate = IotaRate.objects.filter(valid_from__lte=moment).order_by("-valid_from").first()
    if rate is not None:
        return RateSnapshot(rate.eur_per_iota, f"rate table #{rate.pk}: {rate.source}"[:120])
    return RateSnapshot(Decimal(settings.MACHINES_IOTA_EUR_RATE), "setting MACHINES_IOTA_EUR_RATE")


def _invoice_amounts(session: ChargingSession) -> tuple[metering.InvoiceAmounts, int]:
    """Priced by the tariff version the session started under, whatever the station charges now."""
    tariff = session.tariff
    idle_minutes = metering.idle_minutes_count(
        last_increase_at=session.last_increase_at, ended_at=session.ended_at, grace_minutes=tariff.idle_grace_minutes
    )
    amounts = metering.invoice_amounts(
        energy_wh=session.energy_wh,
        price_per_kwh=tariff.price_per_kwh,
        session_fee=tariff.session_fee,
        idle_minutes=idle_minutes,
        idle_fee_per_minute=tariff.idle_fee_per_minute,
        currency=tariff.currency,
    )
    return amounts, idle_minutes


@transaction.atomic
def charging_session_settle(*, session_id: int) -> ChargingSession:
    """Posts the metered amount of an ended session's hold (the rest is released), writes its invoice and anchors
    its meter chain. A session that is still charging, already settled or failed is returned unchanged."""
    # Only the session row: a FOR UPDATE over the join would also lock the station and the vehicle, and a station's
    # next StartTransaction (which locks the vehicle, then checks its foreign key to the station at commit) deadlocks.
    session = (
        ChargingSession.objects.select_for_update(of=("self",))
        .select_related("station", "vehicle", "tariff")
        .get(pk=session_id)
    )
    if session.status != SessionStatus.ENDED:
        return session
    station = session.station
    amounts, idle_minutes = _invoice_amounts(session)
    charged = min(amounts.total_amount, session.hold_amount)
    resolution_id = wallets.transfer_id_for(key=f"session:{station.pk}:{session.transaction_id}:settle")
    try:
        with transaction.atomic():
            invoice = _invoice_create(
                session=session,
                amounts=amounts,
                idle_minutes=idle_minutes,
                charged=charged,
                resolution_id=resolution_id,
            )
            charging_invoice_issued_notify(invoice=invoice, session=session)
            ChargingSession.objects.filter(pk=session.pk).update(status=SessionStatus.SETTLED)
            # The hold's resolution comes last: it locks the operator's ledger account, which every start and
            # settlement at the operator's stations books against, until commit; resolved first, the invoice's,
            # anchor's and notification's statements ran while the operator's other starts and settlements waited.
            wallets.session_hold_resolve(
                hold_id=session.hold_transfer_id,
                resolution_id=resolution_id,
                hold_amount=session.hold_amount,
                charged_amount=charged,
                currency=session.tariff.currency,
                reference=f"charging:{station.pk}:{session.transaction_id}",
            )
    except LedgerRefused as error:  # the invoice, its anchor leaf and its notification went with the savepoint
        ChargingSession.objects.filter(pk=session.pk).update(status=SessionStatus.FAILED, failure_code=error.code)
        session.refresh_from_db()  # also forgets the invoice that was not kept
        return session
    session.status = SessionStatus.SETTLED  # as written; no statement more while the operator's account is locked
    return session


def _invoice_create(
    *,
    session: ChargingSession,
    amounts: metering.InvoiceAmounts,
    idle_minutes: int,
    charged: int,
    resolution_id: object,
) -> ChargingInvoice:
    tariff = session.tariff
    head, count = session.readings.order_by("-sequence").values_list("record_hash", "sequence").first()
    rate = iota_rate_at(moment=session.ended_at)
    salt = secrets.token_hex(16)
    leaf = metering.anchor_leaf(salt_hex=salt, chain_head=head)
    reference = anchoring.meter_chain_leaf_anchor(leaf_hash=leaf, reference=f"machines.charging_session:{session.pk}")
    return ChargingInvoice.objects.create(
        session=session,
        energy_wh=session.energy_wh,
        price_per_kwh=tariff.price_per_kwh,
        session_fee=tariff.session_fee,
        idle_minutes=idle_minutes,
        idle_fee_per_minute=tariff.idle_fee_per_minute,
        energy_amount=amounts.energy_amount,
        idle_amount=amounts.idle_amount,
        total_amount=amounts.total_amount,
        charged_amount=charged,
        currency=tariff.currency,
        iota_rate=rate.eur_per_iota,
        iota_rate_source=rate.source,
        iota_amount_micros=metering.iota_micros(
            amount=charged, currency=tariff.currency, eur_per_iota=rate.eur_per_iota
        ),
        chain_head=head,
        reading_count=count,
        anchor_salt=salt,
        anchor_leaf=leaf,
        anchor_reference=reference,
        settlement_transfer_id=resolution_id,
    )


def charging_invoices_anchor_missing() -> int:
    """Hands invoices' leaves to identity's anchoring when it was unavailable at settlement; returns how many."""
    handed = 0
    for invoice in ChargingInvoice.objects.filter(anchor_reference="")[:SWEEP_BATCH_SIZE]:
        reference = anchoring.meter_chain_leaf_anchor(
            leaf_hash=invoice.anchor_leaf, reference=f"machines.charging_session:{invoice.session_id}"
        )
        if reference:
            ChargingInvoice.objects.filter(pk=invoice.pk).update(anchor_reference=reference)
            handed += 1
    return handed


def charging_invoice_check(*, invoice: ChargingInvoice, anchor: Anchor | None = None) -> InvoiceCheck:
    """Recomputes the session's meter chain (hashes and signatures), its head against the anchored leaf, and the
    energy and amounts of the invoice from the readings. Any tampered reading makes it fail with a reason code.

    Once the leaf's batch is anchored, its inclusion proof must lead to the batch's root; with ``anchor`` (a Tangle
    client) the block must also carry that root on the Tangle (an unreachable node raises AnchorUnavailable)."""
    session = invoice.session
    station = session.station
    records = [
        metering.ChainRecord(
            r.sequence, r.measured_at, r.energy_wh, r.source, r.previous_hash, r.record_hash, r.signature
        )
        for r in session.readings.order_by("sequence")
    ]
    genesis = metering.chain_genesis(station_did=station.did, transaction_id=session.transaction_id)
    head = records[-1].record_hash if records else genesis
    if metering.anchor_leaf(salt_hex=invoice.anchor_salt, chain_head=head) != invoice.anchor_leaf:
        return InvoiceCheck(False, "chain_head_not_anchored")
    if invoice.anchor_reference:
        state = anchoring.meter_chain_leaf_state(leaf_hash=invoice.anchor_leaf)
        if not state.is_known:
            return InvoiceCheck(False, "anchor_leaf_unknown")
        if state.is_anchored and not anchor_proof_verify(
            leaf_hash=bytes.fromhex(invoice.anchor_leaf),
            proof=state.proof,
            root=bytes.fromhex(state.root),
            block_id=state.block_id,
            anchor=anchor,
        ):
            return InvoiceCheck(False, "anchor_proof_invalid")
    chain = metering.chain_check(
        records=records, genesis=genesis, public_key=bytes(station.public_key), expected_head=invoice.chain_head
    )
    if not chain.is_valid:
        return InvoiceCheck(False, chain.reason, chain.sequence)
    energies = [record.energy_wh for record in sorted(records, key=lambda record: record.measured_at)]
    if energies[-1] - energies[0] != invoice.energy_wh:
        return InvoiceCheck(False, "energy_mismatch")
    expected = metering.invoice_amounts(
        energy_wh=invoice.energy_wh,
        price_per_kwh=invoice.price_per_kwh,
        session_fee=invoice.session_fee,
        idle_minutes=invoice.idle_minutes,
        idle_fee_per_minute=invoice.idle_fee_per_minute,
        currency=invoice.currency,
    )
    if expected.total_amount != invoice.total_amount:
        return InvoiceCheck(False, "amount_mismatch")
    return InvoiceCheck(True)
