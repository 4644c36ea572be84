"""Issuer, holder and verification policy fixtures for the credentials tests (no database needed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.credentials.dids import (
    DidResolutionError,
    DidWebKey,
    build_did_web_document,
    did_key_from_public_key,
    did_web_for_host,
    jwk_method_id,
    multikey_method_id,
    resolve_did_key,
)
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.credentials.status_list import StatusBitstring
from identity.credentials.types import build_credit_history_credential
from identity.credentials.verify import AnchorStatus, TrustDecision, VerificationPolicy

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
REVOCATION_LIST_URL = "https://portal.example/credentials/status/revocation/1"
SUSPENSION_LIST_URL = "https://portal.example/credentials/status/suspension/1"


@dataclass
class Issuer:
    did: str
    private_key: Ed25519PrivateKey
    key_id: str

    @property
    def jwk_method(self) -> str:
        return jwk_method_id(did=self.did, key_id=self.key_id)

    @property
    def multikey_method(self) -> str:
        return multikey_method_id(did=self.did, key_id=self.key_id)

    def document(self) -> dict[str, Any]:
        return build_did_web_document(did=self.did, keys=[DidWebKey(self.key_id, public_key_bytes(self.private_key))])


@dataclass
class Holder:
    private_key: Ed25519PrivateKey

    @property
    def did(self) -> str:
        return did_key_from_public_key(public_key_bytes(self.private_key))

    @property
    def method(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"


@dataclass
class World:
    """What the verifier can see: DID documents, the trust registry, status lists and anchored bytes."""

    did_web_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    trust: dict[str, TrustDecision] = field(default_factory=dict)
    revocation: StatusBitstring = field(default_factory=StatusBitstring)
    suspension: StatusBitstring = field(default_factory=StatusBitstring)
    anchored: dict[bytes, AnchorStatus] = field(default_factory=dict)

    def resolve(self, did: str) -> dict[str, Any]:
        if did.startswith("did:key:"):
            return resolve_did_key(did)
        if did not in self.did_web_documents:
            raise DidResolutionError(f"unknown {did}")
        return self.did_web_documents[did]

    def status_list(self, url: str, purpose: str) -> StatusBitstring:
        return {
            (REVOCATION_LIST_URL, "revocation"): self.revocation,
            (SUSPENSION_LIST_URL, "suspension"): self.suspension,
        }[(url, purpose)]

    def policy(self) -> VerificationPolicy:
        return VerificationPolicy(
            resolve_did_document=self.resolve,
            issuer_trust=lambda issuer, types: self.trust.get(issuer, TrustDecision.UNKNOWN),
            status_list=self.status_list,
            anchor_check=lambda data: self.anchored.get(data, AnchorStatus.MISSING),
        )


@pytest.fixture
def issuer() -> Issuer:
    return Issuer(did=did_web_for_host(host="portal.example"), private_key=generate_private_key(), key_id="key-1")


@pytest.fixture
def holder() -> Holder:
    return Holder(private_key=generate_private_key())


@pytest.fixture
def world(issuer: Issuer) -> World:
    return World(did_web_documents={issuer.did: issuer.document()}, trust={issuer.did: TrustDecision.TRUSTED})


@pytest.fixture
def credit_credential(issuer: Issuer, holder: Holder) -> Callable[..., dict[str, Any]]:
    def build(**overrides: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "credential_id": "urn:uuid:6a1f2c9e-0c53-4d37-9b0e-3f1c1b7c2a10",
            "issuer": issuer.did,
            "subject_did": holder.did,
            "score_band": "B",
            "affordability_ceiling_minor": 65_000,
            "currency": "EUR",
            "negative_record_band": "none",
            "as_of": NOW.date(),
            "issuer_policy": "https://portal.example/policies/credit-bands/v1",
            "valid_from": NOW - timedelta(days=1),
            "valid_until": NOW + timedelta(days=90),
        }
        return build_credit_history_credential(**(arguments | overrides))

    return build
