"""Back-office pages of settlement: the batches with their state, and the outbox backlog."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import role_required
from accounts.roles import Role
from payments.models import SettlementBatchState
from payments.settlement import selectors

PAGE_SIZE = 50


def _positive_int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) <= 0:
        raise Http404("Unknown page.")
    return int(value)


@require_GET
@role_required(Role.BACK_OFFICE)
def settlement_batch_list_view(request: HttpRequest) -> HttpResponse:
    """Batches newest first, PAGE_SIZE per page (`?before=<id>` pages back), with the backlog figures on top."""
    state = request.GET.get("state") or None
    if state is not None and state not in SettlementBatchState.values:
        raise Http404("Unknown state.")
    before_id = _positive_int(request.GET.get("before"))
    batches = list(selectors.settlement_batch_list(state=state, before_id=before_id)[: PAGE_SIZE + 1])
    has_older = len(batches) > PAGE_SIZE
    batches = batches[:PAGE_SIZE]
    context = {
        "batches": batches,
        "backlog": selectors.settlement_backlog_summary(),
        "state": state or "",
        "states": SettlementBatchState.choices,
        "older_before": batches[-1].pk if has_older else None,
        "is_first_page": before_id is None,
    }
    return render(request, "payments/settlement/batch_list.html", context)


@require_GET
@role_required(Role.BACK_OFFICE)
def settlement_batch_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """One batch: counts, totals per currency and the hash that is anchored."""
    batch = selectors.settlement_batch_get(batch_id=batch_id)
    return render(request, "payments/settlement/batch_detail.html", {"batch": batch})
