"""Registering and managing machines: vehicles with wallets, charging stations with passwords and tariffs, operators.

Registration creates the machine's did:key identity (private key encrypted at rest) and opens its ledger account in
the same database transaction, so a machine never exists without its wallet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections.abc import Collection
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Role
from core.errors import ConflictError, ValidationFailed
from machines import wallets
from machines.errors import ReviewForbidden
from machines.identities import machine_keys_generate
from machines.models import (
    ChargingStation,
    Connector,
    IotaRate,
    Operator,
    ServicePoint,
    StationReview,
    StationTariff,
    Vehicle,
    VehicleOperatorApproval,
)

# OCPP 1.6 idTag is at most 20 characters: 20 hex digits are 80 random bits, far beyond guessing at any rate.
ID_TOKEN_LENGTH = 20
STATION_PASSWORD_MIN_LENGTH = 16
# OCPP 1.6 security profile 1 allows 16 to 40 characters for the Basic-auth password.
STATION_PASSWORD_MAX_LENGTH = 40


def operator_get_or_create(*, owner: User, currency: str = "EUR") -> Operator:
    """The owner's operator record with its earnings account, opened on first use."""
    existing = Operator.objects.filter(owner=owner).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            account_id = wallets.operator_account_open(owner_user_id=owner.pk, currency=currency)
            return Operator.objects.create(owner=owner, account_id=account_id, currency=currency)
    except IntegrityError:
        return Operator.objects.get(owner=owner)


def _limits_check(*, session_limit: int, daily_limit: int) -> None:
    if session_limit <= 0:
        raise ValidationFailed(
            gettext_lazy("The session limit must be positive."), code="limit_invalid", fields={"session_limit": []}
        )
    if daily_limit < session_limit:
        raise ValidationFailed(
            gettext_lazy("The daily limit must be at least the session limit."),
            code="limit_invalid",
            fields={"daily_limit": []},
        )


@transaction.atomic
def vehicle_register(*, owner: User, name: str, session_limit: int, daily_limit: int, currency: str = "EUR") -> Vehicle:
    """Registers a vehicle with a fresh did:key and an empty wallet; limits are minor units.

    The OCPP idTag its charge port presents is made here (`ID_TOKEN_LENGTH` random hex digits): owners do not choose
    it, so it cannot be guessed and no answer ever says that a chosen tag is taken. The vehicle approves no operator
    yet: no station can charge it until its owner approves one.
    """
    _limits_check(session_limit=session_limit, daily_limit=daily_limit)
    token = secrets.token_hex(ID_TOKEN_LENGTH // 2).upper()
    keys = machine_keys_generate()
    vehicle = Vehicle(
        owner=owner,
        name=name,
        did=keys.did,
        public_key=keys.public_key,
        encrypted_private_key=keys.encrypted_private_key,
        id_token=token,
        session_limit=session_limit,
        daily_limit=daily_limit,
        currency=currency,
        wallet_account_id=0,
    )
    vehicle.wallet_account_id = wallets.wallet_account_open(did=keys.did, currency=currency)
    vehicle.save()
    return vehicle


@transaction.atomic
def vehicle_limits_set(*, vehicle: Vehicle, session_limit: int, daily_limit: int) -> Vehicle:
    """Changes the owner's caps (minor units); sessions already started keep their hold."""
    _limits_check(session_limit=session_limit, daily_limit=daily_limit)
    Vehicle.objects.filter(pk=vehicle.pk).update(session_limit=session_limit, daily_limit=daily_limit)
    vehicle.refresh_from_db()
    return vehicle


def vehicle_price_ceiling_set(
    *, vehicle: Vehicle, max_price_per_kwh: int, max_session_fee: int, max_idle_fee_per_minute: int
) -> Vehicle:
    """The most the owner accepts per kWh, per session and per idle minute (minor units); stations above any of them
    are refused at the next start, sessions already running keep their tariff."""
    if min(max_price_per_kwh, max_session_fee, max_idle_fee_per_minute) < 0:
        raise ValidationFailed(gettext_lazy("Price ceilings must not be negative."), code="price_ceiling_invalid")
    Vehicle.objects.filter(pk=vehicle.pk).update(
        max_price_per_kwh=max_price_per_kwh,
        max_session_fee=max_session_fee,
        max_idle_fee_per_minute=max_idle_fee_per_minute,
    )
    vehicle.refresh_from_db()
    return vehicle


def vehicle_operator_approve(*, vehicle: Vehicle, operator: Operator) -> VehicleOperatorApproval:
    """The owner lets `operator`'s stations charge the vehicle; only operators with a station approved by back office
    can be approved. Approving again after a revocation renews the approval."""
    if not operator.stations.filter(review_status=StationReview.APPROVED, is_active=True).exists():
        raise ValidationFailed(
            gettext_lazy("This operator has no approved charging station."),
            code="operator_not_reviewed",
            fields={"operator": []},
        )
    approval, _ = VehicleOperatorApproval.objects.update_or_create(
        vehicle=vehicle, operator=operator, defaults={"approved_at": timezone.now(), "revoked_at": None}
    )
    return approval


def vehicle_operator_revoke(*, vehicle: Vehicle, operator: Operator) -> None:
    """The operator's stations may no longer start sessions for the vehicle; running sessions end as metered."""
    VehicleOperatorApproval.objects.filter(vehicle=vehicle, operator=operator, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def vehicle_active_set(*, vehicle: Vehicle, is_active: bool) -> Vehicle:
    """Blocks (or unblocks) a vehicle: a blocked vehicle's id token is refused at every station."""
    Vehicle.objects.filter(pk=vehicle.pk).update(is_active=is_active)
    vehicle.refresh_from_db()
    return vehicle


def vehicle_top_up(*, vehicle: Vehicle, amount: int, reference: str) -> None:
    """Credits `amount` minor units to the vehicle's wallet; the same `reference` twice credits once.

    The money comes from the portal's funding (cash-at-bank) account: the top-up was paid by card or bank transfer.
    """
    if amount <= 0:
        raise ValidationFailed(
            gettext_lazy("The amount must be positive."), code="amount_invalid", fields={"amount": []}
        )
    wallets.wallet_top_up(
        account_id=vehicle.wallet_account_id, amount=amount, currency=vehicle.currency, key=f"{vehicle.pk}:{reference}"
    )


def _password_check(password: str) -> None:
    if not STATION_PASSWORD_MIN_LENGTH <= len(password) <= STATION_PASSWORD_MAX_LENGTH:
        raise ValidationFailed(
            f"The station password must have {STATION_PASSWORD_MIN_LENGTH} to {STATION_PASSWORD_MAX_LENGTH} characters.",
            code="station_password_invalid",
            fields={"password": []},
        )


def _tariff_check(*, price_per_kwh: int, session_fee: int, idle_fee_per_minute: int) -> None:
    if min(price_per_kwh, session_fee, idle_fee_per_minute) < 0:
        raise ValidationFailed(gettext_lazy("Tariff amounts must not be negative."), code="tariff_invalid")


@transaction.atomic
def station_register(
    *,
    owner: User,
    station_id: str,
    name: str,
    password: str,
    price_per_kwh: int,
    session_fee: int = 0,
    idle_fee_per_minute: int = 0,
    idle_grace_minutes: int = 15,
    connector_count: int = 1,
    currency: str = "EUR",
) -> ChargingStation:
    """Registers a charging station for its owner (the operator); tariff amounts are minor units.

    The password is what the station sends over Basic auth (OCPP security profile 1); only its hash is kept. The
    station waits for back office's review (`station_review_decide`) before it may charge any vehicle; its tariff
    becomes version 1.
    """
    _password_check(password)
    _tariff_check(price_per_kwh=price_per_kwh, session_fee=session_fee, idle_fee_per_minute=idle_fee_per_minute)
    if ChargingStation.objects.filter(station_id=station_id).exists():
        raise ConflictError(
            gettext_lazy("That station id is taken."), code="station_id_taken", fields={"station_id": []}
        )
    operator = operator_get_or_create(owner=owner, currency=currency)
    keys = machine_keys_generate()
    station = ChargingStation.objects.create(
        owner=owner,
        operator=operator,
        station_id=station_id,
        name=name,
        did=keys.did,
        public_key=keys.public_key,
        encrypted_private_key=keys.encrypted_private_key,
        password_hash=make_password(password),
        currency=currency,
        price_per_kwh=price_per_kwh,
        session_fee=session_fee,
        idle_fee_per_minute=idle_fee_per_minute,
        idle_grace_minutes=idle_grace_minutes,
        connector_count=connector_count,
    )
    Connector.objects.bulk_create(
        [Connector(station=station, connector_id=number) for number in range(1, connector_count + 1)]
    )
    _tariff_version_add(station=station, version=1)
    return station


def _tariff_version_add(*, station: ChargingStation, version: int) -> StationTariff:
    return StationTariff.objects.create(
        station=station,
        version=version,
        currency=station.currency,
        price_per_kwh=station.price_per_kwh,
        session_fee=station.session_fee,
        idle_fee_per_minute=station.idle_fee_per_minute,
        idle_grace_minutes=station.idle_grace_minutes,
        valid_from=timezone.now(),
    )


@transaction.atomic
def station_review_decide(*, station: ChargingStation, reviewer: User, is_approved: bool) -> ChargingStation:
    """Back office approves a registered station (it may then charge vehicles whose owners approved its operator) or
    declines it (it never charges anyone). A decided review is final; a second decision is refused."""
    if reviewer.role != Role.BACK_OFFICE:
        raise ReviewForbidden("Only back office reviews stations.")
    locked = ChargingStation.objects.select_for_update().get(pk=station.pk)
    if locked.review_status != StationReview.PENDING:
        raise ConflictError(gettext_lazy("This station has already been reviewed."), code="station_review_done")
    ChargingStation.objects.filter(pk=station.pk).update(
        review_status=StationReview.APPROVED if is_approved else StationReview.DECLINED,
        reviewed_by=reviewer,
        reviewed_at=timezone.now(),
    )
    station.refresh_from_db()
    return station


def station_password_set(*, station: ChargingStation, password: str) -> None:
    """Replaces the station's Basic-auth password (the old one stops working at the next connection)."""
    _password_check(password)
    ChargingStation.objects.filter(pk=station.pk).update(password_hash=make_password(password))
    _verified_passwords.forget(station_pk=station.pk)


@transaction.atomic
def station_tariff_set(
    *, station: ChargingStation, price_per_kwh: int, session_fee: int, idle_fee_per_minute: int
) -> StationTariff:
    """A new tariff version (minor units) for sessions started from now on; running sessions keep theirs."""
    _tariff_check(price_per_kwh=price_per_kwh, session_fee=session_fee, idle_fee_per_minute=idle_fee_per_minute)
    locked = ChargingStation.objects.select_for_update().get(pk=station.pk)
    latest = StationTariff.objects.filter(station=locked).order_by("-version").values_list("version", flat=True)
    ChargingStation.objects.filter(pk=station.pk).update(
        price_per_kwh=price_per_kwh, session_fee=session_fee, idle_fee_per_minute=idle_fee_per_minute
    )
    station.refresh_from_db()
    return _tariff_version_add(station=station, version=(latest.first() or 0) + 1)


class _VerifiedPasswords:
    """Station passwords that matched the station's password hash in this process, kept as keyed digests so that a
    station reconnecting (after a network outage: thousands at once) is not hashed again (scrypt: tens of ms of CPU).

    A digest is HMAC-SHA256, under a key made at random for this process and never stored, of the station's primary
    key, its password hash as read with the station and the password: it matches only the same password for the same
    station while its stored hash is the one it was checked against. A new password (a new hash, whoever wrote it, in
    whichever process) no longer matches; an inactive station is not read at all, and a locked-out one is refused
    before its password is looked at (`machines.ocpp.consumer`). A wrong password never matches a digest and is
    hashed as before. Nothing here reveals a password: without the key a digest cannot be tested against guesses.
    At most `limit` stations are kept (the oldest are forgotten first)."""

    def __init__(self, *, limit: int) -> None:
        self._key = secrets.token_bytes(32)
        self._limit = limit
        self._digests: dict[int, bytes] = {}
        self._lock = threading.Lock()  # the gateway's database threads check handshakes side by side

    def _digest(self, *, station: ChargingStation, password: str) -> bytes:
        message = f"{station.pk}\x00{station.password_hash}\x00{password}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def matches(self, *, station: ChargingStation, password: str) -> bool:
        remembered = self._digests.get(station.pk)
        return remembered is not None and hmac.compare_digest(
            remembered, self._digest(station=station, password=password)
        )

    def remember(self, *, station: ChargingStation, password: str) -> None:
        digest = self._digest(station=station, password=password)
        with self._lock:
            self._digests.pop(station.pk, None)
            while len(self._digests) >= self._limit:
                self._digests.pop(next(iter(self._digests)))
            self._digests[station.pk] = digest

    def forget(self, *, station_pk: int) -> None:
        with self._lock:
            self._digests.pop(station_pk, None)


VERIFIED_PASSWORDS_LIMIT = 200_000  # about 40 MB at most; a process serves far fewer stations
_verified_passwords = _VerifiedPasswords(limit=VERIFIED_PASSWORDS_LIMIT)


def station_password_matches(*, station: ChargingStation, password: str) -> bool:
    """Whether `password` is the station's (its `password_hash` as read); a password that matched this same hash in
    this process before is not hashed again (`_VerifiedPasswords`)."""
    if _verified_passwords.matches(station=station, password=password):
        return True
    if not check_password(password, station.password_hash):
        return False
    _verified_passwords.remember(station=station, password=password)
    return True


def _station_failures_key(station_id: str) -> str:
    return "machines:station-auth-failures:" + hashlib.sha256(station_id.encode()).hexdigest()


def station_is_locked_out(*, station_id: str) -> bool:
    """True after `MACHINES_STATION_AUTH_FAILURE_LIMIT` failed handshakes for this id within the lockout period:
    password guessing stops there, and so does the password hashing each guess costs the server."""
    return (cache.get(_station_failures_key(station_id)) or 0) >= settings.MACHINES_STATION_AUTH_FAILURE_LIMIT


def station_auth_failure_record(*, station_id: str) -> None:
    key = _station_failures_key(station_id)
    cache.add(key, 0, timeout=settings.MACHINES_STATION_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.MACHINES_STATION_LOCKOUT_SECONDS)


def station_auth_failures_clear(*, station_id: str) -> None:
    cache.delete(_station_failures_key(station_id))


def station_auth_failures_get(*, station_ids: Collection[str]) -> dict[str, int]:
    """Failed handshakes on record per station id, for the ids that have any, in one cache round trip (a restart
    storm's handshakes are checked together)."""
    keys = {_station_failures_key(station_id): station_id for station_id in station_ids}
    return {keys[key]: int(count) for key, count in cache.get_many(list(keys)).items() if count}


def station_auth_failures_clear_many(*, station_ids: Collection[str]) -> None:
    if station_ids:
        cache.delete_many([_station_failures_key(station_id) for station_id in station_ids])


def service_point_create(*, owner: User, slug: str, name: str, kind: str) -> ServicePoint:
    """A car park or workshop of the owner's operator that vehicles can pay machine-to-machine."""
    operator = operator_get_or_create(owner=owner)
    try:
        with transaction.atomic():
            return ServicePoint.objects.create(operator=operator, slug=slug, name=name, kind=kind)
    except IntegrityError as error:
        raise ConflictError(gettext_lazy("That service point id is taken."), code="service_point_taken") from error


def iota_rate_set(*, eur_per_iota: Decimal, source: str, valid_from: dt.datetime | None = None) -> IotaRate:
    """Records a EUR/IOTA rate and where it came from; invoices use the rate in force at a session's end."""
    if eur_per_iota <= 0:
        raise ValidationFailed(gettext_lazy("The rate must be positive."), code="rate_invalid")
    return IotaRate.objects.create(eur_per_iota=eur_per_iota, source=source, valid_from=valid_from or timezone.now())
