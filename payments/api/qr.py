"""API of QR payment codes: dealer redemptions (authorize, capture, void, refund: each under an Idempotency-Key, see
core.idempotency) and the sandbox acquirer's webhook."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsDealer
from core.idempotency import HEADER as IDEMPOTENCY_HEADER_NAME
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotency_answer_statement, idempotent_api_call
from core.serializers import input_validated, output_data
from core.sql import Statement
from core.throttling import ScopedRateThrottle
from payments.checkout.providers import payment_provider_is_offered
from payments.checkout.webhooks import SIGNATURE_HEADER, sandbox_webhook_receive
from payments.models import CheckoutProvider, QrRedemption
from payments.qr.redemptions import (
    RedemptionRequest,
    qr_redemption_authorize,
    qr_redemption_capture,
    qr_redemption_refund,
    qr_redemption_void,
)
from payments.qr.selectors import qr_redemption_get_for_user


class QrRedemptionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.CharField()
    amount = serializers.IntegerField(help_text="Authorized minor units.")
    captured_amount = serializers.IntegerField(help_text="Captured minor units.")
    refunded_amount = serializers.IntegerField(help_text="Refunded minor units.")
    currency = serializers.CharField()
    code = serializers.CharField(source="code.short_id", help_text="Short id of the redeemed code.")
    reference = serializers.CharField()
    created_at = serializers.DateTimeField()


def _redemption_response(redemption: QrRedemption) -> Response:
    redemption = QrRedemption.objects.select_related("code").get(pk=redemption.pk)
    return Response(QrRedemptionOutputSerializer(redemption).data)


_REPLAYED = "A retry with the same Idempotency-Key answers the first response again, with the same status."


class QrRedemptionCreateApi(APIView):
    """Authorizes an amount on a customer's code (a pending ledger transfer to the dealer). Needs `Idempotency-Key`."""

    permission_classes = [IsDealer]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(max_length=400, help_text="The text of the code's QR symbol (FLQ1:...).")
        amount = serializers.IntegerField(min_value=1, max_value=10**11, help_text="Minor units.")
        currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217 code, e.g. EUR.")
        reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: QrRedemptionOutputSerializer},
        description=_REPLAYED,
        operation_id="payments_qr_redemptions_create",
    )
    def post(self, request: Request) -> Response:
        def authorize() -> Response:
            validated = input_validated(self.InputSerializer, request.data)
            key = request.headers[IDEMPOTENCY_HEADER_NAME]
            answered: dict[str, object] = {}

            def answer(redemption: QrRedemption) -> Statement:
                # The answer is stored with the redemption and its ledger transfer, in one round trip.
                answered.update(output_data(QrRedemptionOutputSerializer, redemption))
                return idempotency_answer_statement(status=status.HTTP_201_CREATED, body=answered)

            qr_redemption_authorize(
                user=request.user, request=RedemptionRequest(idempotency_key=key, **validated), answer=answer
            )
            return Response(answered, status=status.HTTP_201_CREATED)

        return idempotent_api_call(request, operation="payments.qr_redemption_authorize", action=authorize)


class QrRedemptionDetailApi(APIView):
    """One redemption of the dealer's organisation."""

    permission_classes = [IsDealer]

    @extend_schema(responses=QrRedemptionOutputSerializer, operation_id="payments_qr_redemptions_retrieve")
    def get(self, request: Request, redemption_id: str) -> Response:
        return _redemption_response(qr_redemption_get_for_user(user=request.user, public_id=redemption_id))


class QrRedemptionCaptureApi(APIView):
    """Captures all or part of the authorization; settlement to the dealer follows in a batch."""

    permission_classes = [IsDealer]

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(min_value=1, max_value=10**11, help_text="Minor units to capture.")

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=QrRedemptionOutputSerializer,
        description=_REPLAYED,
    )
    def post(self, request: Request, redemption_id: str) -> Response:
        redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)

        def capture() -> Response:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            amount = serializer.validated_data["amount"]
            return _redemption_response(qr_redemption_capture(redemption_id=redemption.pk, amount=amount))

        return idempotent_api_call(request, operation="payments.qr_redemption_capture", action=capture)


class QrRedemptionVoidApi(APIView):
    """Cancels the authorization; the reserved amount returns to the code."""

    permission_classes = [IsDealer]

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=QrRedemptionOutputSerializer,
        description=_REPLAYED,
    )
    def post(self, request: Request, redemption_id: str) -> Response:
        redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)
        return idempotent_api_call(
            request,
            operation="payments.qr_redemption_void",
            action=lambda: _redemption_response(qr_redemption_void(redemption_id=redemption.pk)),
            takes_body=False,
        )


class QrRedemptionRefundApi(APIView):
    """Refunds part or all of a captured redemption with a new transfer back to the code."""

    permission_classes = [IsDealer]

    class InputSerializer(serializers.Serializer):
        amount = serializers.IntegerField(min_value=1, max_value=10**11, help_text="Minor units to refund.")

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=QrRedemptionOutputSerializer,
        description=_REPLAYED,
    )
    def post(self, request: Request, redemption_id: str) -> Response:
        redemption = qr_redemption_get_for_user(user=request.user, public_id=redemption_id)

        def refund() -> Response:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            amount = serializer.validated_data["amount"]
            qr_redemption_refund(redemption_id=redemption.pk, user=request.user, amount=amount)
            return _redemption_response(redemption)

        return idempotent_api_call(request, operation="payments.qr_redemption_refund", action=refund)


class SandboxWebhookReceiveApi(APIView):
    """The sandbox card acquirer's webhook: `FinLab-Signature: t=<unix seconds>,v1=<HMAC-SHA256 hex>`."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class OutputSerializer(serializers.Serializer):
        event_id = serializers.CharField()
        event_type = serializers.CharField()
        order_status = serializers.CharField()

    @extend_schema(
        request={"application/json": {"type": "object"}},
        parameters=[OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True)],
        responses=OutputSerializer,
    )
    def post(self, request: Request) -> Response:
        if not payment_provider_is_offered(name=CheckoutProvider.CARD_SANDBOX):
            raise NotFound("The sandbox card acquirer is not in use here.")
        outcome = sandbox_webhook_receive(header=request.headers.get(SIGNATURE_HEADER, ""), body=request.body)
        return Response(self.OutputSerializer(outcome).data)
