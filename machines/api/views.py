"""The machine API: a vehicle reads its wallet and sessions and pays service points, authenticated by signature."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import HEADER as IDEMPOTENCY_HEADER_NAME
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_api_call
from machines import selectors
from machines.api.authentication import IsMachine, MachineSignatureAuthentication
from machines.services.machine_api import machine_payment_create


class _MachineApi(APIView):
    authentication_classes = [MachineSignatureAuthentication]
    permission_classes = [IsMachine]


class MachineBalanceGetApi(_MachineApi):
    """The calling vehicle's wallet in minor units: posted, held by open sessions, available."""

    class OutputSerializer(serializers.Serializer):
        did = serializers.CharField()
        currency = serializers.CharField()
        posted = serializers.IntegerField()
        held = serializers.IntegerField()
        available = serializers.IntegerField()
        session_limit = serializers.IntegerField()
        daily_limit = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer, operation_id="machines_me_balance_get")
    def get(self, request: Request) -> Response:
        vehicle = request.auth
        balance = selectors.vehicle_balance_get(vehicle=vehicle)
        data = {
            "did": vehicle.did,
            "currency": balance.currency,
            "posted": balance.posted,
            "held": balance.held,
            "available": balance.available,
            "session_limit": vehicle.session_limit,
            "daily_limit": vehicle.daily_limit,
        }
        return Response(self.OutputSerializer(data).data)


class MachineSessionListApi(_MachineApi):
    """The calling vehicle's last 50 charging sessions with their invoices."""

    class OutputSerializer(serializers.Serializer):
        station = serializers.CharField(source="station.station_id")
        transaction_id = serializers.CharField()
        status = serializers.CharField()
        started_at = serializers.DateTimeField()
        ended_at = serializers.DateTimeField(allow_null=True)
        energy_wh = serializers.IntegerField()
        charged_amount = serializers.SerializerMethodField()
        iota_amount_micros = serializers.SerializerMethodField()

        def get_charged_amount(self, session: object) -> int | None:
            invoice = getattr(session, "invoice", None)
            return invoice.charged_amount if invoice else None

        def get_iota_amount_micros(self, session: object) -> int | None:
            invoice = getattr(session, "invoice", None)
            return invoice.iota_amount_micros if invoice else None

    @extend_schema(responses=OutputSerializer(many=True), operation_id="machines_me_sessions_list")
    def get(self, request: Request) -> Response:
        sessions = selectors.session_list_for_vehicle(vehicle=request.auth)
        return Response(self.OutputSerializer(sessions, many=True).data)


class MachinePaymentCreateApi(_MachineApi):
    """Pays a service point (parking, workshop) from the calling vehicle's wallet; `Idempotency-Key` is required."""

    class InputSerializer(serializers.Serializer):
        service_point = serializers.SlugField(max_length=48)
        amount = serializers.IntegerField(min_value=1, help_text="Minor units of the wallet's currency.")
        reference = serializers.CharField(max_length=64, required=False, default="")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        service_point = serializers.CharField(source="service_point.slug")
        amount = serializers.IntegerField()
        currency = serializers.CharField()
        reference = serializers.CharField()
        transfer_id = serializers.UUIDField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        description="A retry with the same Idempotency-Key answers the first response again, with the same status.",
        operation_id="machines_me_payments_create",
    )
    def post(self, request: Request) -> Response:
        def pay() -> Response:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            payment = machine_payment_create(
                vehicle=request.auth,
                service_point_slug=serializer.validated_data["service_point"],
                amount=serializer.validated_data["amount"],
                reference=serializer.validated_data["reference"],
                idempotency_key=request.headers[IDEMPOTENCY_HEADER_NAME],
            )
            return Response(self.OutputSerializer(payment).data, status=status.HTTP_201_CREATED)

        return idempotent_api_call(request, operation="machines.machine_payment_create", action=pay)
