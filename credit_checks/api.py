"""Dealer API of credit checks (token or session auth): open a request, poll it, configure the signed webhook; and
the customer wallet's request for the portal's payment-history credential."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCustomer, IsDealer
from core.errors import ValidationFailed
from core.throttling import ScopedRateThrottle
from credit_checks import selectors, services
from credit_checks.models import CreditCheckPurpose
from credit_checks.payment_history import payment_history_credential_issue
from credit_checks.webhooks import dealer_webhook_configure
from identity.api.views import IssuedCredentialSerializer, issued_credential_response
from identity.services import issuance


class CreditCheckOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    purpose = serializers.CharField()
    amount = serializers.IntegerField(help_text="Monthly instalment, minor units.")
    currency = serializers.CharField()
    termMonths = serializers.IntegerField()
    status = serializers.CharField()
    refusalReason = serializers.CharField(allow_null=True)
    expiresAt = serializers.DateTimeField()
    verdict = serializers.DictField(allow_null=True)


class CreditCheckCreateApi(APIView):
    """Open a credit-check request; the answer holds the link (and challenge) to hand to the customer.

    Limited per dealer user by the `credit_check` rate (`API_THROTTLE_CREDIT_CHECK`), since every call stores a new
    pending check; polling is not counted, so a dealer system that polls keeps its budget for opening checks."""

    permission_classes = [IsDealer]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "credit_check"

    class InputSerializer(serializers.Serializer):
        purpose = serializers.ChoiceField(choices=CreditCheckPurpose.values)
        amount = serializers.IntegerField(min_value=1, help_text="Monthly instalment, minor units.")
        currency = serializers.RegexField(r"^[A-Z]{3}$")
        termMonths = serializers.IntegerField(min_value=1, max_value=services.MAX_TERM_MONTHS)
        leaseApplicationId = serializers.IntegerField(
            min_value=1,
            required=False,
            allow_null=True,
            help_text="Lease application the verdict is for; applied only to your organisation's application of the "
            "customer who answers.",
        )

    class OutputSerializer(CreditCheckOutputSerializer):
        link = serializers.URLField()
        challenge = serializers.CharField()
        domain = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="credit_check_create")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        credit_check = services.credit_check_request_create(
            dealer_user=request.user,
            purpose=data["purpose"],
            amount=data["amount"],
            currency=data["currency"],
            term_months=data["termMonths"],
            lease_application_id=data.get("leaseApplicationId"),
        )
        body = selectors.credit_check_public_view(request=credit_check) | {
            "link": request.build_absolute_uri(f"/identity/credit-checks/respond/{credit_check.link_token}/"),
            "challenge": credit_check.challenge,
            "domain": credit_check.domain,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class CreditCheckDetailApi(APIView):
    """Poll one request of the dealer's organisation; another organisation's request is 404."""

    permission_classes = [IsDealer]

    class OutputSerializer(CreditCheckOutputSerializer):
        pass

    @extend_schema(responses={200: OutputSerializer}, operation_id="credit_check_get")
    def get(self, request: Request, public_id: str) -> Response:
        credit_check = selectors.credit_check_get_for_dealer(user=request.user, request_id=public_id, by_public_id=True)
        return Response(self.OutputSerializer(selectors.credit_check_public_view(request=credit_check)).data)


class CreditCheckWebhookSetApi(APIView):
    """Set the organisation's webhook URL; the answer holds the new signing secret, shown only this once."""

    permission_classes = [IsDealer]

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500)

    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField()
        secret = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer}, operation_id="credit_check_webhook_set")
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organisation = request.user.dealer_organisation
        if organisation is None:
            raise ValidationFailed(
                gettext("Your account belongs to no dealer organisation."), code="no_dealer_organisation"
            )
        webhook, secret = dealer_webhook_configure(
            dealer_organisation=organisation, url=serializer.validated_data["url"]
        )
        return Response(self.OutputSerializer({"url": webhook.url, "secret": secret}).data)


class PaymentHistoryCredentialIssueApi(APIView):
    """The customer's wallet asks the portal for a payment-history credential; it is returned, never stored."""

    permission_classes = [IsCustomer]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["payment_history"], default="payment_history")
        holderDid = serializers.CharField(max_length=200)
        format = serializers.ChoiceField(choices=issuance.FORMATS, default="sd-jwt")

    OutputSerializer = IssuedCredentialSerializer

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, operation_id="payment_history_issue")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = payment_history_credential_issue(
            user=request.user, holder_did=data["holderDid"], securing_format=data["format"]
        )
        return issued_credential_response(issued, securing_format=data["format"])
