"""Back-office API of settlement: batches (cursor-paginated) and the outbox backlog for reconciliation."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsBackOffice
from core.schema import cursor_page
from payments.models import SettlementBatchState
from payments.settlement import selectors


class SettlementBatchCursorPagination(CursorPagination):
    """Newest batch first; the cursor is opaque and stable while new batches arrive."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SettlementBatchOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    item_count = serializers.IntegerField()
    settled_count = serializers.IntegerField()
    rejected_count = serializers.IntegerField()
    totals = serializers.DictField(child=serializers.IntegerField(), help_text="Posted minor units per currency.")
    leaf_hash = serializers.CharField(help_text="SHA-256 (hex) over the sorted (post transfer id, amount) list.")
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class SettlementBatchListApi(APIView):
    """Settlement batches, newest first, optionally only one state (`?state=open`)."""

    permission_classes = [IsBackOffice]

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=SettlementBatchState.choices, required=False)

    @extend_schema(
        parameters=[FilterSerializer, OpenApiParameter("cursor", str), OpenApiParameter("page_size", int)],
        responses=cursor_page(SettlementBatchOutputSerializer, name="SettlementBatchPage"),
        operation_id="payments_settlement_batches_list",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        batches = selectors.settlement_batch_list(state=filters.validated_data.get("state"))
        paginator = SettlementBatchCursorPagination()
        page = paginator.paginate_queryset(batches, request, view=self)
        return paginator.get_paginated_response(SettlementBatchOutputSerializer(page, many=True).data)


class SettlementBatchDetailApi(APIView):
    """One settlement batch."""

    permission_classes = [IsBackOffice]

    @extend_schema(responses=SettlementBatchOutputSerializer, operation_id="payments_settlement_batches_get")
    def get(self, request: Request, batch_id: int) -> Response:
        batch = selectors.settlement_batch_get(batch_id=batch_id)
        return Response(SettlementBatchOutputSerializer(batch).data)


class SettlementBacklogApi(APIView):
    """Outbox and settlement backlog: the figures the reconciliation report shows next to the ledger sums."""

    permission_classes = [IsBackOffice]

    class OutputSerializer(serializers.Serializer):
        outbox_by_state = serializers.DictField(child=serializers.IntegerField())
        outbox_unfinished = serializers.IntegerField()
        outbox_resent = serializers.IntegerField()
        outbox_oldest_unfinished_at = serializers.DateTimeField(allow_null=True)
        outbox_oldest_unfinished_age_seconds = serializers.FloatField(allow_null=True)
        items_by_state = serializers.DictField(child=serializers.IntegerField())
        items_due = serializers.IntegerField()
        items_due_by_currency = serializers.DictField(child=serializers.IntegerField())
        items_oldest_due_at = serializers.DateTimeField(allow_null=True)
        batches_open = serializers.IntegerField()
        batches_closed = serializers.IntegerField()
        settled_by_currency = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(responses=OutputSerializer, operation_id="payments_settlement_backlog_get")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.settlement_backlog_summary()).data)
