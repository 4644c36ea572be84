"""The anchor check of `/credentials/verify` and `/presentations/verify` asks the Tangle, through iota-sdk, against
real dev node processes: a node that does not hold the block fails the check, an unreachable node makes it
`anchor_unverifiable` (never a pass), and a root once confirmed is not asked for again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.models import AnchorBatch
from identity.services import anchor_confirmation
from identity.services.anchor_confirmation import confirmed_roots
from identity.services.anchor_confirmation import verification_anchor as configured_node_anchor
from identity.services.anchoring import anchor_pending_leaves_run
from identity.tangle.anchor import get_anchor
from identity.tangle.testing import DevNode, running_dev_node
from identity.tests.api.test_verification_reasons import issue, sd_presentation, verify, verify_presentation
from machines.testing import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def reason(response) -> str:
    return response.json()["code"]


@pytest.fixture(autouse=True)
def verifier_on_the_configured_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the identity tests' in-memory Tangle: the verifier asks the node at TANGLE_NODE_URL, as in production."""
    monkeypatch.setattr(anchor_confirmation, "verification_anchor", configured_node_anchor)


@pytest.fixture
def holding_node(tmp_path: Path) -> Iterator[DevNode]:
    with running_dev_node(data_dir=tmp_path / "holding") as node:
        yield node


@pytest.fixture
def empty_node(tmp_path: Path) -> Iterator[DevNode]:
    """A healthy node of its own that never received the portal's blocks."""
    with running_dev_node(data_dir=tmp_path / "empty") as node:
        yield node


def _anchored_credential(client, wallet, node: DevNode, securing_format: str = "sd-jwt") -> str:
    credential = issue(client, wallet, securing_format)
    result = anchor_pending_leaves_run(anchor=get_anchor(node.url))
    assert result.leaves_anchored >= 1
    assert AnchorBatch.objects.filter(state="anchored", node_url=node.url).exists()
    return credential


def test_a_node_that_does_not_hold_the_block_fails_the_anchor_check(
    bureau_client, wallet, holding_node, empty_node, settings
):
    credential = _anchored_credential(bureau_client, wallet, holding_node)

    settings.TANGLE_NODE_URL = empty_node.url
    refused = verify(bureau_client, credential)
    refused_presentation = verify_presentation(bureau_client, sd_presentation(credential, wallet))

    assert (refused.status_code, reason(refused)) == (400, "anchor_invalid")
    assert (refused_presentation.status_code, reason(refused_presentation)) == (400, "anchor_invalid")
    assert len(confirmed_roots) == 0

    settings.TANGLE_NODE_URL = holding_node.url
    passed = verify(bureau_client, credential)
    assert passed.status_code == 200, passed.content
    assert passed.json()["checks"][-1] == "anchor"


def test_an_unreachable_node_makes_the_anchor_unverifiable_not_passed(bureau_client, wallet, holding_node, settings):
    credential = _anchored_credential(bureau_client, wallet, holding_node)

    settings.TANGLE_NODE_URL = f"http://127.0.0.1:{free_port()}"
    unverifiable = verify(bureau_client, credential)
    unverifiable_presentation = verify_presentation(bureau_client, sd_presentation(credential, wallet))

    assert (unverifiable.status_code, reason(unverifiable)) == (503, "anchor_unverifiable")
    assert (unverifiable_presentation.status_code, reason(unverifiable_presentation)) == (503, "anchor_unverifiable")
    assert "verified" not in unverifiable.json()
    assert len(confirmed_roots) == 0


def test_without_a_configured_node_an_anchored_credential_is_unverifiable(
    bureau_client, wallet, holding_node, settings
):
    credential = _anchored_credential(bureau_client, wallet, holding_node, securing_format="data-integrity")

    settings.TANGLE_NODE_URL = ""
    response = verify(bureau_client, credential)

    assert (response.status_code, reason(response)) == (503, "anchor_unverifiable")


def test_a_confirmed_root_is_cached_so_the_next_verification_does_not_ask_the_node(
    bureau_client, wallet, holding_node, settings
):
    credential = _anchored_credential(bureau_client, wallet, holding_node)
    settings.TANGLE_NODE_URL = holding_node.url

    first = verify(bureau_client, credential)
    holding_node.stop()
    second = verify(bureau_client, credential)
    presented = verify_presentation(bureau_client, sd_presentation(credential, wallet))

    assert (first.status_code, second.status_code, presented.status_code) == (200, 200, 200)
    assert len(confirmed_roots) == 1
    # The cache is what answered: forgetting it, the stopped node is asked and cannot be reached.
    confirmed_roots.clear()
    after_forgetting = verify(bureau_client, credential)
    assert (after_forgetting.status_code, reason(after_forgetting)) == (503, "anchor_unverifiable")
