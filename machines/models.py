"""Machines: vehicles and charging stations with their own did:key, wallets in the ledger, sessions and meter chains.

Money is integer minor units of `currency` (EUR cents); energy is integer watt-hours (Wh). Ledger accounts live in
`payments` and are referenced here by id only; balances are read through the ledger, never stored twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Operator(models.Model):
    """The business that runs charging stations and service points; earnings land in its ledger account.

    One per owning user; `account_id` is the ledger account (code OPERATOR) credited by every charging session and
    machine payment.
    """

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="machine_operator")
    account_id = models.BigIntegerField(unique=True)
    currency = models.CharField(max_length=3, default="EUR")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"operator {self.pk} ({self.owner_id})"


class Vehicle(models.Model):
    """A vehicle with its own did:key identity and a prepaid wallet funded and capped by its owner.

    `id_token` is what its charge port presents to stations (OCPP idTag, at most 20 characters). Limits are minor
    units: `session_limit` is the hold placed at each session start, `daily_limit` caps holds + payments per day.
    The private key is stored only encrypted (AES-256-GCM, bound to the DID).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vehicles")
    name = models.CharField(max_length=100)
    did = models.CharField(max_length=120, unique=True)
    public_key = models.BinaryField(max_length=32)
    encrypted_private_key = models.BinaryField()
    id_token = models.CharField(max_length=20, unique=True)
    wallet_account_id = models.BigIntegerField(unique=True)
    currency = models.CharField(max_length=3, default="EUR")
    session_limit = models.BigIntegerField(help_text="Hold per charging session, minor units.")
    daily_limit = models.BigIntegerField(help_text="Most the wallet may spend per calendar day (UTC), minor units.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(session_limit__gt=0), name="vehicle_session_limit_positive"),
            models.CheckConstraint(
                condition=Q(daily_limit__gte=F("session_limit")), name="vehicle_daily_limit_covers_session"
            ),
        ]

    def __str__(self) -> str:
        return f"vehicle {self.name}"


class StationStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    CHARGING = "charging", "Charging"
    FAULTED = "faulted", "Faulted"
    UNAVAILABLE = "unavailable", "Unavailable"


class ChargingStation(models.Model):
    """A charging station that speaks OCPP to the gateway and earns for its operator.

    `station_id` is the last path segment of its websocket URL and its Basic-auth user name; `password_hash` is the
    Django hash of its security-profile-1 password. Tariff in minor units: per kWh, per session, and per idle minute.
    Idle minutes run from the last energy increase to the stop, less `idle_grace_minutes` (stations do not all report
    their charging state, the meter always).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charging_stations")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="stations")
    station_id = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=100)
    did = models.CharField(max_length=120, unique=True)
    public_key = models.BinaryField(max_length=32)
    encrypted_private_key = models.BinaryField()
    password_hash = models.CharField(max_length=256)
    currency = models.CharField(max_length=3, default="EUR")
    price_per_kwh = models.BigIntegerField(help_text="Minor units per kWh.")
    session_fee = models.BigIntegerField(default=0, help_text="Minor units per session.")
    idle_fee_per_minute = models.BigIntegerField(default=0, help_text="Minor units per idle minute.")
    idle_grace_minutes = models.PositiveIntegerField(default=15)
    connector_count = models.PositiveSmallIntegerField(default=1)
    ocpp_version = models.CharField(max_length=10, blank=True)
    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    is_connected = models.BooleanField(default=False)
    connection_id = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=StationStatus.choices, default=StationStatus.UNAVAILABLE)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(price_per_kwh__gte=0), name="station_price_non_negative"),
            models.CheckConstraint(condition=Q(session_fee__gte=0), name="station_session_fee_non_negative"),
            models.CheckConstraint(condition=Q(idle_fee_per_minute__gte=0), name="station_idle_fee_non_negative"),
            models.CheckConstraint(condition=Q(status__in=StationStatus.values), name="station_status_valid"),
        ]

    def __str__(self) -> str:
        return f"station {self.station_id}"


class Connector(models.Model):
    """One connector (OCPP connectorId / evse id) of a station with its last reported status."""

    station = models.ForeignKey(ChargingStation, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=30, default="Unavailable")
    error_code = models.CharField(max_length=50, default="NoError")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("station", "connector_id")
        constraints = [
            models.UniqueConstraint(fields=["station", "connector_id"], name="connector_unique_per_station"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.connector_id}"


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "Charging"
    ENDED = "ended", "Ended, settling"
    SETTLED = "settled", "Settled"
    FAILED = "failed", "Settlement failed"


class ChargingSession(models.Model):
    """One charging transaction of a vehicle at a station, identified by (station, OCPP transaction id).

    `hold_transfer_id` is the pending ledger transfer for `hold_amount` (minor units) placed at the start; settlement
    posts the metered amount of it and releases the rest. Meter registers are watt-hours.
    """

    station = models.ForeignKey(ChargingStation, on_delete=models.PROTECT, related_name="sessions")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="sessions")
    connector_id = models.PositiveSmallIntegerField()
    transaction_id = models.CharField(max_length=40)
    start_key = models.CharField(max_length=120, help_text="Station's start request, to recognise a repeated one.")
    ocpp_version = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    meter_start_wh = models.BigIntegerField(null=True, blank=True)
    meter_stop_wh = models.BigIntegerField(null=True, blank=True)
    last_increase_at = models.DateTimeField(null=True, blank=True)
    hold_transfer_id = models.UUIDField(unique=True)
    hold_amount = models.BigIntegerField()
    stop_reason = models.CharField(max_length=40, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-started_at", "-id")
        indexes = [models.Index(fields=["status", "ended_at"], name="session_status_ended")]
        constraints = [
            models.UniqueConstraint(fields=["station", "transaction_id"], name="session_unique_transaction"),
            models.UniqueConstraint(fields=["station", "start_key"], name="session_unique_start"),
            models.CheckConstraint(condition=Q(hold_amount__gt=0), name="session_hold_positive"),
            models.CheckConstraint(condition=Q(status__in=SessionStatus.values), name="session_status_valid"),
            models.CheckConstraint(
                condition=Q(meter_start_wh__isnull=True)
                | Q(meter_stop_wh__isnull=True)
                | Q(meter_stop_wh__gte=F("meter_start_wh")),
                name="session_meter_not_decreasing",
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.station_id}:{self.transaction_id}"

    @property
    def energy_wh(self) -> int:
        """Metered energy so far (Wh): last register minus the first."""
        if self.meter_start_wh is None or self.meter_stop_wh is None:
            return 0
        return self.meter_stop_wh - self.meter_start_wh


class MeterReading(models.Model):
    """One energy register reading of a session, hash-chained in the order the portal received it and signed.

    `record_hash` = SHA-256(previous hash || canonical JSON of the reading); `signature` is Ed25519 by the station's
    key over the hash. Any later edit of a reading breaks every hash after it.
    """

    session = models.ForeignKey(ChargingSession, on_delete=models.PROTECT, related_name="readings")
    sequence = models.PositiveIntegerField()
    measured_at = models.DateTimeField()
    energy_wh = models.BigIntegerField()
    source = models.CharField(max_length=20)
    previous_hash = models.CharField(max_length=64)
    record_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ("session", "sequence")
        constraints = [
            models.UniqueConstraint(fields=["session", "sequence"], name="reading_unique_sequence"),
            models.CheckConstraint(condition=Q(energy_wh__gte=0), name="reading_energy_non_negative"),
        ]

    def __str__(self) -> str:
        return f"reading {self.session_id}#{self.sequence}"


class ChargingInvoice(models.Model):
    """What a settled session cost: energy (Wh), the tariff used, EUR and IOTA amounts, and the anchored chain head.

    `iota_rate` is EUR per IOTA snapshotted at the session's end from `IotaRate`; `iota_amount_micros` is the price in
    micro-IOTA (1 IOTA = 1,000,000 micros), rounded half-up once.
    """

    session = models.OneToOneField(ChargingSession, on_delete=models.PROTECT, related_name="invoice")
    energy_wh = models.BigIntegerField()
    price_per_kwh = models.BigIntegerField()
    session_fee = models.BigIntegerField()
    idle_minutes = models.PositiveIntegerField()
    idle_fee_per_minute = models.BigIntegerField()
    energy_amount = models.BigIntegerField()
    idle_amount = models.BigIntegerField()
    total_amount = models.BigIntegerField()
    charged_amount = models.BigIntegerField(help_text="What the wallet paid: the total, capped at the session hold.")
    currency = models.CharField(max_length=3)
    iota_rate = models.DecimalField(max_digits=20, decimal_places=8)
    iota_rate_source = models.CharField(max_length=120)
    iota_amount_micros = models.BigIntegerField()
    chain_head = models.CharField(max_length=64)
    reading_count = models.PositiveIntegerField()
    anchor_salt = models.CharField(max_length=64)
    anchor_leaf = models.CharField(max_length=64)
    anchor_reference = models.CharField(max_length=120)
    settlement_transfer_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount=F("energy_amount") + F("session_fee") + F("idle_amount")),
                name="invoice_total_is_sum",
            ),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="invoice_total_non_negative"),
            models.CheckConstraint(
                condition=Q(charged_amount__gte=0, charged_amount__lte=F("total_amount")), name="invoice_charged_range"
            ),
        ]

    def __str__(self) -> str:
        return f"invoice for {self.session_id}"


class IotaRate(models.Model):
    """EUR per IOTA from `source` (for example a back-office entry of an exchange's reference price), valid from
    `valid_from`. The rate in force at a session's end is copied onto its invoice."""

    eur_per_iota = models.DecimalField(max_digits=20, decimal_places=8)
    source = models.CharField(max_length=120)
    valid_from = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-valid_from",)
        constraints = [models.CheckConstraint(condition=Q(eur_per_iota__gt=0), name="iota_rate_positive")]

    def __str__(self) -> str:
        return f"{self.eur_per_iota} EUR/IOTA from {self.valid_from.isoformat()}"


class ServiceKind(models.TextChoices):
    PARKING = "parking", "Parking"
    WORKSHOP = "workshop", "Workshop"
    CHARGING = "charging", "Charging"


class ServicePoint(models.Model):
    """A service (car park, workshop) that vehicles pay machine-to-machine; the money goes to its operator."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="service_points")
    slug = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ServiceKind.choices)

    class Meta:
        ordering = ("slug",)
        constraints = [models.CheckConstraint(condition=Q(kind__in=ServiceKind.values), name="service_kind_valid")]

    def __str__(self) -> str:
        return self.slug


class MachinePayment(models.Model):
    """A payment a vehicle made from its wallet to a service point; `idempotency_key` makes a retry return it."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="payments")
    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=64)
    transfer_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["vehicle", "idempotency_key"], name="machine_payment_idempotent"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="machine_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} by {self.vehicle_id}"


class MachineRequestNonce(models.Model):
    """A nonce a vehicle used in a signed API request; the unique constraint refuses a replay inside the window."""

    did = models.CharField(max_length=120)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["did", "nonce"], name="machine_nonce_unique")]

    def __str__(self) -> str:
        return f"{self.did}:{self.nonce}"


class SystemAccount(models.Model):
    """A ledger account the machines app opens for itself (the cash-at-bank side of wallet top-ups)."""

    name = models.CharField(max_length=40, unique=True)
    account_id = models.BigIntegerField(unique=True)

    def __str__(self) -> str:
        return self.name
