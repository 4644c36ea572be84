"""A credit check whose credential is anchored, while the Tangle node cannot be reached, is not refused: nothing is
recorded and the customer can present again once the node answers (real dev node process, real iota-sdk)."""

from __future__ import annotations

import pytest

from credit_checks.models import ConsentReceipt, CreditCheckVerdict
from credit_checks.services import AnchorUnverifiable, credit_check_present
from credit_checks.tests.conftest import present
from identity.services import anchor_confirmation
from identity.services.anchor_confirmation import verification_anchor as configured_node_anchor
from identity.services.anchoring import anchor_pending_leaves_run
from identity.tangle.anchor import get_anchor
from identity.tangle.testing import running_dev_node
from machines.testing import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_unreachable_node_leaves_the_request_open_and_a_reachable_one_decides_it(
    open_request, issue_credit, wallet, customer, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(anchor_confirmation, "verification_anchor", configured_node_anchor)
    credential = issue_credit(band="B", ceiling=650_00)
    request = open_request(amount=450_00)
    with running_dev_node(data_dir=tmp_path / "tangle") as node:
        assert anchor_pending_leaves_run(anchor=get_anchor(node.url)).leaves_anchored >= 1
        presentation = present(sd_jwt=credential, wallet=wallet, request=request)

        settings.TANGLE_NODE_URL = f"http://127.0.0.1:{free_port()}"
        with pytest.raises(AnchorUnverifiable) as unverifiable:
            credit_check_present(request=request, customer=customer, presentation=presentation)

        assert (unverifiable.value.code, unverifiable.value.status) == ("anchor_unverifiable", 503)
        request.refresh_from_db()
        assert (request.status, request.refusal_reason, request.presentation_hash) == ("open", "", None)
        assert ConsentReceipt.objects.filter(request=request).count() == 0
        assert CreditCheckVerdict.objects.filter(request=request).count() == 0

        settings.TANGLE_NODE_URL = node.url
        credit_check_present(request=request, customer=customer, presentation=presentation)

    request.refresh_from_db()
    assert (request.status, request.refusal_reason) == ("decided", "")
    assert CreditCheckVerdict.objects.filter(request=request).count() == 1
