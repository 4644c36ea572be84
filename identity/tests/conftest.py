"""Fixtures of the identity tests: hosted issuers with VC-API keys, wallets (holders) and an in-memory Tangle."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import generate_private_key, public_key_bytes
from identity.models import TrustedIssuer
from identity.services import anchor_confirmation, registry
from identity.services.anchoring import AnchorRunResult, anchor_pending_leaves_run
from identity.tangle.anchor import AnchorReceipt, AnchorUnavailable
from identity.tangle.block import TaggedData


@dataclass
class Wallet:
    """A holder's key and did:key, as the browser wallet keeps them."""

    private_key: Ed25519PrivateKey = field(default_factory=generate_private_key)

    @property
    def did(self) -> str:
        return did_key_from_public_key(public_key_bytes(self.private_key))

    @property
    def method(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"


@dataclass
class MemoryTangle:
    """An Anchor that keeps blocks in memory; ``is_down`` makes it answer like an unreachable node."""

    blocks: dict[str, TaggedData] = field(default_factory=dict)
    is_down: bool = False
    node_url: str = "memory://tangle"

    def anchor_root(self, root: bytes, *, tag: str) -> AnchorReceipt:
        if self.is_down:
            raise AnchorUnavailable("no healthy node available")
        block_id = "0x" + hashlib.blake2b(root + len(self.blocks).to_bytes(4, "big"), digest_size=32).hexdigest()
        self.blocks[block_id] = TaggedData(tag=tag.encode(), data=root)
        return AnchorReceipt(block_id=block_id, root=root, tag=tag, node_url=self.node_url)

    def fetch_block(self, block_id: str) -> TaggedData | None:
        return self.blocks.get(block_id)

    def is_anchored(self, block_id: str, root: bytes) -> bool:
        block = self.blocks.get(block_id)
        return block is not None and block.data == root


@pytest.fixture
def wallet() -> Wallet:
    return Wallet()


@pytest.fixture
def memory_tangle() -> MemoryTangle:
    return MemoryTangle()


@pytest.fixture(autouse=True)
def verifier_on_memory_tangle(memory_tangle: MemoryTangle, monkeypatch: pytest.MonkeyPatch) -> MemoryTangle:
    """The portal's verifier asks the test's in-memory Tangle (the one ``anchor_now`` anchors on) for anchored roots.
    Tests of the real node path undo this and set TANGLE_NODE_URL to a dev node instead."""
    monkeypatch.setattr(anchor_confirmation, "verification_anchor", lambda: memory_tangle)
    return memory_tangle


@pytest.fixture
def anchor_now(memory_tangle: MemoryTangle) -> Callable[[], AnchorRunResult]:
    """Runs one anchoring pass against the in-memory Tangle."""
    return lambda: anchor_pending_leaves_run(anchor=memory_tangle)


@pytest.fixture
def bureau(db: None) -> TrustedIssuer:
    """A hosted credit bureau allowed to issue credit-history credentials."""
    return registry.trusted_issuer_register(
        name="Bureau One", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    )


@pytest.fixture
def issuer_client_for() -> Callable[[TrustedIssuer], Client]:
    """A test client that authenticates with a fresh VC-API key of the issuer."""

    def make(issuer: TrustedIssuer) -> Client:
        _client, raw = registry.issuer_client_create(issuer=issuer, name="core system")
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture
def bureau_client(bureau: TrustedIssuer, issuer_client_for: Callable[[TrustedIssuer], Client]) -> Client:
    return issuer_client_for(bureau)


def credit_credential(*, subject_did: str, **subject_claims: Any) -> dict[str, Any]:
    """An unsigned credit-history credential as an issuer's system sends it to ``POST /credentials/issue``."""
    subject = {"id": subject_did, "scoreBand": "B", "negativeRecordBand": "none"} | subject_claims
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "CreditHistoryCredential"],
        "credentialSubject": subject,
    }


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, body, content_type="application/json")
