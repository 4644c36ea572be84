"""Back-office ledger API: accounts, statements, transfer search, the reconciliation report, and batch transfers."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsBackOffice
from core.errors import ValidationFailed
from core.schema import cursor_page
from payments.ledger import selectors
from payments.ledger.services import transfers_create
from payments.ledger.types import MAX_BATCH_SIZE, TransferFlags, TransferSpec


class AccountCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class TransferCursorPagination(CursorPagination):
    ordering = ("created_at", "id")
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"


class AccountOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ledger = serializers.CharField()
    code = serializers.IntegerField()
    owner_reference = serializers.CharField()
    debits_must_not_exceed_credits = serializers.BooleanField()
    credits_must_not_exceed_debits = serializers.BooleanField()
    is_closed = serializers.BooleanField()
    debits_pending = serializers.IntegerField()
    debits_posted = serializers.IntegerField()
    credits_pending = serializers.IntegerField()
    credits_posted = serializers.IntegerField()


class TransferOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    debit_account_id = serializers.IntegerField()
    credit_account_id = serializers.IntegerField()
    amount = serializers.IntegerField()
    ledger = serializers.CharField()
    code = serializers.IntegerField()
    flags = serializers.IntegerField()
    pending_id = serializers.UUIDField(allow_null=True)
    timeout_seconds = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    user_data = serializers.CharField()
    created_at = serializers.DateTimeField()


class AccountListApi(APIView):
    """Ledger accounts with their four sums (minor units), filtered by ledger, code or owner reference."""

    permission_classes = [IsBackOffice]

    class InputSerializer(serializers.Serializer):
        ledger = serializers.CharField(required=False, default="", max_length=3)
        code = serializers.IntegerField(required=False, allow_null=True, default=None)
        owner_reference = serializers.CharField(required=False, default="", max_length=64)

    OutputSerializer = AccountOutputSerializer

    @extend_schema(
        parameters=[InputSerializer],
        responses=cursor_page(OutputSerializer, name="AccountPage"),
        operation_id="ledger_accounts_list",
    )
    def get(self, request: Request) -> Response:
        filters = self.InputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = AccountCursorPagination()
        page = paginator.paginate_queryset(selectors.account_list(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class AccountStatementApi(APIView):
    """The account's transfers, oldest first, each with the posted balance (credits minus debits) after it."""

    permission_classes = [IsBackOffice]

    class OutputSerializer(serializers.Serializer):
        transfer = TransferOutputSerializer()
        debit_posted = serializers.IntegerField()
        credit_posted = serializers.IntegerField()
        debit_pending = serializers.IntegerField()
        credit_pending = serializers.IntegerField()
        balance_posted = serializers.IntegerField()

    @extend_schema(
        responses=cursor_page(OutputSerializer, name="StatementPage"), operation_id="ledger_account_statement"
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = selectors.account_get(account_id=account_id)
        paginator = TransferCursorPagination()
        page = paginator.paginate_queryset(selectors.account_transfers(account=account), request, view=self)
        entries = selectors.account_statement(account=account, transfers=page or [])
        return paginator.get_paginated_response(self.OutputSerializer(entries, many=True).data)


class TransferSearchApi(APIView):
    """Transfers by id, account, code and creation time (`created_to` exclusive)."""

    permission_classes = [IsBackOffice]

    class InputSerializer(serializers.Serializer):
        transfer_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        account_id = serializers.IntegerField(required=False, allow_null=True, default=None)
        code = serializers.IntegerField(required=False, allow_null=True, default=None)
        created_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
        created_to = serializers.DateTimeField(required=False, allow_null=True, default=None)

    OutputSerializer = TransferOutputSerializer

    @extend_schema(
        parameters=[InputSerializer],
        responses=cursor_page(OutputSerializer, name="TransferPage"),
        operation_id="ledger_transfers_search",
    )
    def get(self, request: Request) -> Response:
        filters = self.InputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = TransferCursorPagination()
        page = paginator.paginate_queryset(selectors.transfer_search(**filters.validated_data), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class TransferBatchCreateApi(APIView):
    """Creates up to 8,000 transfers; answers one `{"id", "code"}` per transfer, in order ("ok" when created)."""

    permission_classes = [IsBackOffice]

    class InputSerializer(serializers.Serializer):
        class TransferInput(serializers.Serializer):
            id = serializers.UUIDField()
            debit_account_id = serializers.IntegerField(default=0)
            credit_account_id = serializers.IntegerField(default=0)
            amount = serializers.IntegerField()
            ledger = serializers.CharField(default="", allow_blank=True, max_length=3)
            code = serializers.IntegerField(default=0)
            flags = serializers.IntegerField(default=0, min_value=0, max_value=255)
            pending_id = serializers.UUIDField(required=False, allow_null=True, default=None)
            timeout_seconds = serializers.IntegerField(required=False, allow_null=True, default=None)
            user_data = serializers.CharField(default="", allow_blank=True, max_length=64)

        transfers = TransferInput(many=True, allow_empty=False)

    class OutputSerializer(serializers.Serializer):
        class ResultOutput(serializers.Serializer):
            id = serializers.UUIDField()
            code = serializers.CharField()

        results = ResultOutput(many=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="ledger_transfers_create")
    def post(self, request: Request) -> Response:
        items = request.data.get("transfers") if isinstance(request.data, dict) else None
        if isinstance(items, list) and len(items) > MAX_BATCH_SIZE:
            raise ValidationFailed(f"At most {MAX_BATCH_SIZE} transfers per request.", code="batch_too_large")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        specs = [
            TransferSpec(**(item | {"flags": TransferFlags(item["flags"])}))
            for item in serializer.validated_data["transfers"]
        ]
        results = transfers_create(transfers=specs)
        data = {"results": [{"id": result.id, "code": str(result.code)} for result in results]}
        return Response(self.OutputSerializer(data).data)


class ReconciliationApi(APIView):
    """Per ledger: the four sums over all accounts (minor units), whether they balance, and open timed pendings."""

    permission_classes = [IsBackOffice]

    class OutputSerializer(serializers.Serializer):
        ledger = serializers.CharField()
        accounts = serializers.IntegerField()
        debits_pending = serializers.IntegerField()
        debits_posted = serializers.IntegerField()
        credits_pending = serializers.IntegerField()
        credits_posted = serializers.IntegerField()
        pending_with_timeout = serializers.IntegerField()
        is_balanced = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True), operation_id="ledger_reconciliation")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.reconciliation_report(), many=True).data)
