"""Leasing API: products and quotes for anyone (throttled), contracts for their parties, verdicts and approvals for
back office."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAnyRole, IsBackOffice
from core.throttling import AnonRateThrottle, UserRateThrottle
from leasing import selectors
from leasing.models import CreditVerdict, PaymentTimingChoice
from leasing.services.applications import application_approve, application_credit_verdict_record
from leasing.services.quotes import QuoteInput, quote_create


class ProductListApi(APIView):
    """Active products with their terms and mileage bands."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()
        currency = serializers.CharField()
        nominal_rate_percent = serializers.DecimalField(max_digits=6, decimal_places=3)
        arrangement_fee = serializers.IntegerField(help_text="Minor units.")
        min_term_months = serializers.IntegerField()
        max_term_months = serializers.IntegerField()
        yearly_km_bands = serializers.ListField(child=serializers.IntegerField())
        service_packages = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer(many=True), operation_id="leasing_products_list")
    def get(self, request: Request) -> Response:
        rows = [
            {
                **{
                    field: getattr(product, field)
                    for field in (
                        "code",
                        "name",
                        "kind",
                        "currency",
                        "nominal_rate_percent",
                        "arrangement_fee",
                        "min_term_months",
                        "max_term_months",
                    )
                },
                "yearly_km_bands": [band.yearly_km for band in product.mileage_bands.all()],
                "service_packages": [package.code for package in product.service_packages.all()],
            }
            for product in selectors.product_list_active()
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class QuoteCreateApi(APIView):
    """Prices a lease or loan and stores the quote; anonymous callers are allowed and throttled per address."""

    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    class InputSerializer(serializers.Serializer):
        product_code = serializers.CharField(max_length=40)
        price = serializers.IntegerField(help_text="Minor units.")
        down_payment = serializers.IntegerField(default=0, help_text="Minor units.")
        term_months = serializers.IntegerField()
        yearly_km = serializers.IntegerField(required=False, allow_null=True, default=None)
        residual_value = serializers.IntegerField(
            required=False, allow_null=True, default=None, help_text="Minor units."
        )
        timing = serializers.ChoiceField(choices=PaymentTimingChoice.choices, default="in_arrears")
        # ISO 8601 like every API date; the dotted day-month-year people type ("01.01.2027") is read too.
        start_date = serializers.DateField(
            required=False, allow_null=True, default=None, input_formats=["iso-8601", "%d.%m.%Y"]
        )
        service_packages = serializers.ListField(
            child=serializers.CharField(max_length=40), default=list, max_length=10
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        currency = serializers.CharField()
        financed_amount = serializers.IntegerField()
        residual_value = serializers.IntegerField()
        monthly_instalment = serializers.IntegerField()
        monthly_services = serializers.IntegerField()
        monthly_total = serializers.IntegerField()
        arrangement_fee = serializers.IntegerField()
        total_interest = serializers.IntegerField()
        total_cost_of_credit = serializers.IntegerField()
        total_amount_payable = serializers.IntegerField()
        aprc_percent = serializers.DecimalField(max_digits=7, decimal_places=1)
        pdf_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="leasing_quotes_create")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        packages = data.pop("service_packages")
        quote = quote_create(data=QuoteInput(**data, service_package_codes=packages), created_by=request.user)
        quote.pdf_url = f"/leasing/quotes/{quote.public_id}/pdf"
        return Response(self.OutputSerializer(quote).data, status=status.HTTP_201_CREATED)


class ContractListApi(APIView):
    """The caller's contracts: a customer's own, a dealer's originated ones, all for back office."""

    permission_classes = [IsAnyRole]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number = serializers.CharField()
        status = serializers.CharField()
        product = serializers.CharField(source="product.code")
        currency = serializers.CharField()
        financed_amount = serializers.IntegerField()
        aprc_percent = serializers.DecimalField(max_digits=7, decimal_places=1)
        start_date = serializers.DateField()
        document_sha256 = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True), operation_id="leasing_contracts_list")
    def get(self, request: Request) -> Response:
        contracts = selectors.contract_list_for_user(user=request.user)
        return Response(self.OutputSerializer(contracts, many=True).data)


class ContractDetailApi(APIView):
    """One contract with its schedule rows (amounts in minor units); 404 when it is not the caller's."""

    permission_classes = [IsAnyRole]

    class ItemSerializer(serializers.Serializer):
        number = serializers.IntegerField()
        kind = serializers.CharField()
        due_date = serializers.DateField()
        amount = serializers.IntegerField()
        interest = serializers.IntegerField()
        principal = serializers.IntegerField()
        services = serializers.IntegerField()
        fee = serializers.IntegerField()
        status = serializers.CharField()

    class OutputSerializer(ContractListApi.OutputSerializer):
        schedule = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, operation_id="leasing_contracts_get")
    def get(self, request: Request, contract_id: int) -> Response:
        contract = selectors.contract_get_for_user(user=request.user, contract_id=contract_id)
        contract.schedule = self.ItemSerializer(selectors.contract_schedule_items(contract=contract), many=True).data
        return Response(self.OutputSerializer(contract).data)


class ApplicationCreditVerdictApi(APIView):
    """Back office records a manual credit-check verdict with a reason."""

    permission_classes = [IsBackOffice]

    class InputSerializer(serializers.Serializer):
        verdict = serializers.ChoiceField(choices=CreditVerdict.choices)
        reason = serializers.CharField(max_length=500)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="leasing_application_verdict")
    def post(self, request: Request, application_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = selectors.application_get_for_user(user=request.user, application_id=application_id)
        application = application_credit_verdict_record(
            application_id=application.pk,
            verdict=serializer.validated_data["verdict"],
            source="manual",
            reason=serializer.validated_data["reason"],
            recorded_by=request.user,
        )
        return Response(self.OutputSerializer(application).data)


class ApplicationApproveApi(APIView):
    """Back office approves an application waiting for a decision, with a reason (one of two above the four-eyes
    limit). Refused with ``identity_check_required`` (409) until the customer's identity check has passed."""

    permission_classes = [IsBackOffice]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField()
        approvals_required = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="leasing_application_approve")
    def post(self, request: Request, application_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = selectors.application_get_for_user(user=request.user, application_id=application_id)
        application = application_approve(
            application_id=application.pk, approved_by=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(self.OutputSerializer(application).data)
