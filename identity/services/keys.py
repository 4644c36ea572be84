"""Signing keys and DID documents of the portal, its dealers and the issuers whose keys it hosts.

Private keys are stored only encrypted (core.encryption under FIELD_ENCRYPTION_KEYS, context ``controller#key_id``). Rotation retires the active key instead of deleting it, so the ``did:web`` document keeps
listing it and credentials it signed keep verifying.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.encryption import field_decrypt, field_encrypt
from core.errors import ValidationFailed
from identity.credentials.dids import (
    DidWebKey,
    build_did_web_document,
    did_key_from_public_key,
    did_web_for_dealer,
    did_web_for_host,
    jwk_method_id,
    multikey_method_id,
)
from identity.credentials.keys import (
    generate_private_key,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_bytes,
)
from identity.models import SigningKey

PORTAL_CONTROLLER = "portal"


@dataclass(frozen=True)
class Signer:
    """A decrypted signing key with the DID URLs its signatures name (held in memory for one operation only)."""

    did: str
    private_key: Ed25519PrivateKey
    jwk_method: str
    multikey_method: str


def portal_host() -> str:
    """The host (and port, if any) the portal's ``did:web`` names, lower-cased."""
    return settings.PORTAL_HOST.strip().lower()


def portal_did() -> str:
    """``did:web:<host>`` of the portal; a port is percent-encoded (``did:web:localhost%3A8000``)."""
    return did_web_for_host(host=portal_host())


def dealer_controller(slug: str) -> str:
    return f"dealer:{slug}"


def dealer_did(*, slug: str) -> str:
    """``did:web:<host>:dealers:<slug>`` of a dealer organisation."""
    return did_web_for_dealer(host=portal_host(), dealer_slug=slug)


def issuer_controller(issuer_id: int) -> str:
    return f"issuer:{issuer_id}"


def _associated_data(controller: str, key_id: str) -> bytes:
    return f"{controller}#{key_id}".encode()


def _key_create(*, controller: str, private_key: Ed25519PrivateKey, key_id: str | None = None) -> SigningKey:
    """Insert a new active key for ``controller``; the caller has retired the previous one."""
    now = timezone.now()
    key_id = key_id or f"key-{now:%Y%m%d}-{secrets.token_hex(3)}"
    encrypted = field_encrypt(plaintext=private_key_to_bytes(private_key), context=_associated_data(controller, key_id))
    return SigningKey.objects.create(
        controller=controller,
        key_id=key_id,
        public_key=public_key_bytes(private_key),
        encrypted_private_key=encrypted,
        created_at=now,
    )


def signing_key_active_get_or_create(*, controller: str) -> SigningKey:
    """The controller's active key, created on first use (the portal's and each dealer's did:web need one)."""
    key = SigningKey.objects.filter(controller=controller, state=SigningKey.State.ACTIVE).first()
    if key is not None:
        return key
    if controller.startswith("issuer:"):
        raise ValidationFailed("A hosted issuer's key is made when the issuer is registered.", code="no_signing_key")
    try:
        with transaction.atomic():
            return _key_create(controller=controller, private_key=generate_private_key())
    except IntegrityError:
        # Another request created it first; the one-active-key constraint guarantees there is exactly one.
        return SigningKey.objects.get(controller=controller, state=SigningKey.State.ACTIVE)


def hosted_issuer_key_create(*, issuer_id: int) -> tuple[SigningKey, str]:
    """A new key for a hosted issuer and the ``did:key`` it defines (a did:key cannot rotate: a new key is a new
    DID)."""
    private_key = generate_private_key()
    did = did_key_from_public_key(public_key_bytes(private_key))
    key = _key_create(
        controller=issuer_controller(issuer_id), private_key=private_key, key_id=did.removeprefix("did:key:")
    )
    return key, did


@transaction.atomic
def signing_key_rotate(*, controller: str) -> SigningKey:
    """Retire the active ``did:web`` key and make a new one; old credentials keep verifying through the retired key."""
    if controller.startswith("issuer:"):
        raise ValidationFailed("A did:key issuer cannot rotate its key; register a new DID.", code="rotation_refused")
    now = timezone.now()
    SigningKey.objects.select_for_update().filter(controller=controller, state=SigningKey.State.ACTIVE).update(
        state=SigningKey.State.RETIRED, retired_at=now
    )
    return _key_create(controller=controller, private_key=generate_private_key())


@transaction.atomic
def signing_key_withdraw(*, key: SigningKey) -> SigningKey:
    """Take a compromised retired key out of the DID document: what it signed stops verifying. The active key is
    rotated first, never withdrawn directly, so the controller always has a key that signs."""
    key = SigningKey.objects.select_for_update().get(pk=key.pk)
    if key.state != SigningKey.State.RETIRED:
        raise ValidationFailed("Rotate the key before withdrawing it.", code="key_not_retired")
    key.state = SigningKey.State.WITHDRAWN
    key.save(update_fields=["state"])
    return key


def signer_for(*, controller: str, did: str) -> Signer:
    """Decrypt the controller's active key for one signing operation."""
    key = signing_key_active_get_or_create(controller=controller)
    raw = field_decrypt(blob=key.encrypted_private_key, context=_associated_data(controller, key.key_id))
    private_key = private_key_from_bytes(raw)
    if did.startswith("did:key:"):
        method = f"{did}#{did.removeprefix('did:key:')}"
        return Signer(did=did, private_key=private_key, jwk_method=method, multikey_method=method)
    return Signer(
        did=did,
        private_key=private_key,
        jwk_method=jwk_method_id(did=did, key_id=key.key_id),
        multikey_method=multikey_method_id(did=did, key_id=key.key_id),
    )


def did_web_document(*, controller: str, did: str) -> dict[str, Any]:
    """The ``did:web`` document: the active key and every retired key, oldest first (withdrawn keys are left out)."""
    signing_key_active_get_or_create(controller=controller)
    keys = SigningKey.objects.filter(
        controller=controller, state__in=[SigningKey.State.ACTIVE, SigningKey.State.RETIRED]
    ).order_by("created_at", "id")
    return build_did_web_document(did=did, keys=[DidWebKey(key.key_id, bytes(key.public_key)) for key in keys])


def portal_did_document() -> dict[str, Any]:
    """The portal's Ed25519 keys and, as ``#x509-issuer``, the ES256 key that signs OpenID4VCI credentials."""
    from identity.openid4vci.certificates import did_verification_method

    document = did_web_document(controller=PORTAL_CONTROLLER, did=portal_did())
    method = did_verification_method(did=document["id"])
    document["verificationMethod"].append(method)
    document["assertionMethod"].append(method["id"])
    return document


def dealer_did_document(*, slug: str) -> dict[str, Any]:
    return did_web_document(controller=dealer_controller(slug), did=dealer_did(slug=slug))


def whole_seconds(value: datetime) -> datetime:
    """Credentials carry whole-second times, so the JWT and the document forms agree exactly."""
    return value.replace(microsecond=0)
