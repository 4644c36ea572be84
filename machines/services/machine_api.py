"""Signed machine requests and machine-to-machine payments.

A vehicle signs each API request with its did:key (Ed25519). The signed message is

    finlab-machine-request-v1 \\n METHOD \\n path?query \\n timestamp \\n nonce \\n hex(SHA-256(body))

sent as the headers `X-Machine-DID`, `X-Machine-Timestamp` (Unix seconds), `X-Machine-Nonce` (16-64 characters of
[A-Za-z0-9_-]) and `X-Machine-Signature` (base64url, no padding). A request is accepted once: its timestamp must be
within MACHINES_REQUEST_WINDOW_SECONDS of the portal's clock and its nonce unused by that DID in that window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from identity.credentials.encoding import EncodingError, b64url_decode, b64url_encode
from identity.credentials.jws import is_valid_ed25519_signature
from machines import wallets
from machines.errors import MachineAuthenticationFailed
from machines.models import MachinePayment, MachineRequestNonce, ServicePoint, Vehicle
from machines.services.charging import vehicle_spent_today
from payments.ledger.client import LedgerRefused

SIGNATURE_VERSION = "finlab-machine-request-v1"
_NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def request_signing_input(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a vehicle signs for one request."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([SIGNATURE_VERSION, method.upper(), path, timestamp, nonce, digest]).encode("utf-8")


def request_sign(
    *,
    private_key: Ed25519PrivateKey,
    did: str,
    method: str,
    path: str,
    body: bytes,
    nonce: str,
    timestamp: int,
) -> dict[str, str]:
    """The headers of a signed request (what a vehicle's software does; used by tests, the demo and the bench)."""
    message = request_signing_input(method=method, path=path, timestamp=str(timestamp), nonce=nonce, body=body)
    return {
        "X-Machine-DID": did,
        "X-Machine-Timestamp": str(timestamp),
        "X-Machine-Nonce": nonce,
        "X-Machine-Signature": b64url_encode(private_key.sign(message)),
    }


def _refuse(detail: str, code: str) -> MachineAuthenticationFailed:
    return MachineAuthenticationFailed(detail, code=code)


def machine_request_authenticate(
    *,
    did: str,
    timestamp: str,
    nonce: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
    now: dt.datetime | None = None,
) -> Vehicle:
    """The vehicle that signed this request, after checking signature, time window and nonce (in that order).

    Raises MachineAuthenticationFailed with a code: machine_unknown, machine_timestamp_invalid,
    machine_timestamp_outside_window, machine_nonce_invalid, machine_signature_invalid, machine_request_replayed.
    """
    now = now or timezone.now()
    vehicle = Vehicle.objects.filter(did=did, is_active=True).first() if did else None
    if vehicle is None:
        raise _refuse("No active machine has this DID.", "machine_unknown")
    if not timestamp.isdigit():
        raise _refuse("X-Machine-Timestamp must be Unix seconds.", "machine_timestamp_invalid")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > settings.MACHINES_REQUEST_WINDOW_SECONDS:
        raise _refuse("The request timestamp is outside the accepted window.", "machine_timestamp_outside_window")
    if not _NONCE_PATTERN.match(nonce):
        raise _refuse("X-Machine-Nonce must be 16-64 characters of A-Z, a-z, 0-9, _ or -.", "machine_nonce_invalid")
    try:
        raw_signature = b64url_decode(signature)
    except EncodingError:
        raw_signature = b""
    message = request_signing_input(method=method, path=path, timestamp=timestamp, nonce=nonce, body=body)
    if not is_valid_ed25519_signature(public_key=bytes(vehicle.public_key), signature=raw_signature, message=message):
        raise _refuse("The request signature does not verify with the machine's key.", "machine_signature_invalid")
    try:
        with transaction.atomic():
            MachineRequestNonce.objects.create(did=did, nonce=nonce, seen_at=now)
    except IntegrityError as error:
        raise _refuse("This nonce was already used.", "machine_request_replayed") from error
    return vehicle


def request_nonces_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes nonces older than twice the window (a request that old is refused by its timestamp anyway)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.MACHINES_REQUEST_WINDOW_SECONDS)
    deleted, _ = MachineRequestNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def machine_payment_create(
    *, vehicle: Vehicle, service_point_slug: str, amount: int, reference: str, idempotency_key: str
) -> MachinePayment:
    """Pays `amount` minor units from the vehicle's wallet to a service point's operator, within the daily limit.

    Callers run it under `core.idempotency`, which answers a retry with the first payment; `idempotency_key` is
    stored on the payment (unique per vehicle in the database) and names its ledger transfer.
    """
    if amount <= 0:
        raise ValidationFailed(
            gettext_lazy("The amount must be positive."), code="amount_invalid", fields={"amount": []}
        )
    service_point = ServicePoint.objects.select_related("operator").filter(slug=service_point_slug).first()
    if service_point is None:
        raise ValidationFailed(
            gettext_lazy("Unknown service point."), code="service_point_unknown", fields={"service_point": []}
        )
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    if vehicle_spent_today(vehicle=vehicle, now=timezone.now()) + amount > vehicle.daily_limit:
        raise ValidationFailed(
            gettext_lazy("The payment exceeds the vehicle's daily limit."), code="daily_limit_exceeded"
        )
    transfer_id = wallets.transfer_id_for(key=f"machine-payment:{vehicle.pk}:{idempotency_key}")
    try:
        wallets.machine_payment_transfer(
            transfer_id=transfer_id,
            wallet_account_id=vehicle.wallet_account_id,
            operator_account_id=service_point.operator.account_id,
            amount=amount,
            currency=vehicle.currency,
            reference=f"machine-payment:{service_point.slug}",
        )
    except LedgerRefused as error:
        raise ValidationFailed(
            gettext_lazy("The wallet cannot cover this payment."),
            code="insufficient_funds",
            fields={"ledger": [str(error.code)]},
        ) from error
    return MachinePayment.objects.create(
        vehicle=vehicle,
        service_point=service_point,
        amount=amount,
        currency=vehicle.currency,
        reference=reference[:64],
        idempotency_key=idempotency_key,
        transfer_id=transfer_id,
    )
