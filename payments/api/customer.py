"""The customer's API, what a phone app shows: their payment codes with balances and history, the catalogue, and
buying a code.

Money leaves as `{"amount": "12.50", "currency": "EUR"}` (a decimal string in major units, never a float) and comes in
the same way; times are ISO 8601 with their offset. Customers only; another customer's code or order answers 404
like a missing one. Buying a code follows the page's rules (`checkout_order_create`) under an `Idempotency-Key`, and
answers the checkout step the client completes next: the acquirer's card page, or the bank transfer to make.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsCustomer
from core.errors import ValidationFailed
from core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_api_call
from core.money import Money, MoneyError
from core.throttling import ScopedRateThrottle
from payments.checkout.sepa import sepa_order_payload
from payments.checkout.services import checkout_order_create
from payments.models import (
    CheckoutOrder,
    CheckoutOrderKind,
    CheckoutOrderStatus,
    CheckoutProvider,
    QrCodeStatus,
    QrProduct,
)
from payments.qr.history import code_movement_list
from payments.qr.selectors import (
    checkout_order_get_for_user,
    qr_code_get_for_user,
    qr_code_list_for_user,
    qr_code_view,
    qr_product_list_active,
)

_DECIMAL_STRING = r"^-?[0-9]+(\.[0-9]+)?$"


def money_out(money: Money | None) -> dict[str, str] | None:
    """`Money(1250, "EUR")` → `{"amount": "12.50", "currency": "EUR"}`."""
    return None if money is None else {"amount": str(money.to_decimal()), "currency": money.currency}


class MoneyOutputSerializer(serializers.Serializer):
    amount = serializers.RegexField(_DECIMAL_STRING, help_text='Major units as a decimal string, e.g. "12.50".')
    currency = serializers.CharField(help_text="ISO 4217 code, e.g. EUR.")


class ProductOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    accepted_for = serializers.CharField()
    currency = serializers.CharField()
    fixed_amount = MoneyOutputSerializer(allow_null=True, help_text="The value of a fixed-value code.")
    min_amount = MoneyOutputSerializer(allow_null=True, help_text="The least a chosen value may be.")
    max_amount = MoneyOutputSerializer(allow_null=True, help_text="The most a chosen value may be.")
    validity_days = serializers.IntegerField(help_text="Days a code stays valid after purchase.")


def _product_out(product: QrProduct) -> dict[str, Any]:
    def amount(value: int | None) -> dict[str, str] | None:
        return None if value is None else money_out(Money(value, product.currency))

    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "accepted_for": product.accepted_for,
        "currency": product.currency,
        "fixed_amount": amount(product.fixed_amount),
        "min_amount": amount(product.min_amount),
        "max_amount": amount(product.max_amount),
        "validity_days": product.validity_days,
    }


class CodeOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    short_id = serializers.CharField(help_text="Eight characters that tell the customer's codes apart.")
    product = serializers.CharField(help_text="The product's slug.")
    product_name = serializers.CharField()
    status = serializers.ChoiceField(choices=QrCodeStatus.choices)
    balance = MoneyOutputSerializer(help_text="Booked balance.")
    available = MoneyOutputSerializer(help_text="What may still be spent: the balance minus open reservations.")
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    replaced_by = serializers.UUIDField(allow_null=True, help_text="The code a blocked code's balance moved to.")


class CodeDetailOutputSerializer(CodeOutputSerializer):
    token = serializers.CharField(
        allow_null=True, help_text="The text of the code's QR symbol, shown to the dealer (null once blocked)."
    )


def _code_out(view: Any, *, with_token: bool = False) -> dict[str, Any]:
    code = view.code
    body = {
        "id": code.public_id,
        "short_id": code.short_id,
        "product": code.product.slug,
        "product_name": code.product.name,
        "status": code.status,
        "balance": money_out(view.balance),
        "available": money_out(view.available),
        "expires_at": code.expires_at,
        "created_at": code.created_at,
        "replaced_by": code.replaced_by.public_id if code.replaced_by_id else None,
    }
    if with_token:
        body["token"] = view.token if view.is_active else None
    return body


class CustomerProductListApi(APIView):
    """The payment codes on sale."""

    permission_classes = [IsCustomer]

    @extend_schema(responses=ProductOutputSerializer(many=True), operation_id="customer_products_list")
    def get(self, request: Request) -> Response:
        products = [_product_out(product) for product in qr_product_list_active()]
        return Response(ProductOutputSerializer(products, many=True).data)


class CustomerCodeListApi(APIView):
    """The customer's payment codes, newest first, with their balances."""

    permission_classes = [IsCustomer]

    @extend_schema(responses=CodeOutputSerializer(many=True), operation_id="customer_codes_list")
    def get(self, request: Request) -> Response:
        codes = [_code_out(view) for view in qr_code_list_for_user(user=request.user)]
        return Response(CodeOutputSerializer(codes, many=True).data)


class CustomerCodeDetailApi(APIView):
    """One of the customer's codes with the text of its QR symbol; 404 for another customer's code."""

    permission_classes = [IsCustomer]

    @extend_schema(responses=CodeDetailOutputSerializer, operation_id="customer_codes_retrieve")
    def get(self, request: Request, code_id: str) -> Response:
        code = qr_code_get_for_user(user=request.user, public_id=code_id)
        return Response(CodeDetailOutputSerializer(_code_out(qr_code_view(code=code), with_token=True)).data)


class CustomerCodeHistoryApi(APIView):
    """Every movement of one of the customer's codes, newest first."""

    permission_classes = [IsCustomer]

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="transfer_id", help_text="The ledger transfer.")
        kind = serializers.ChoiceField(
            choices=[
                "purchase", "dealer_payment", "refund", "balance_move", "invoice_payment", "vehicle_top_up", "other",
            ]
        )  # fmt: skip
        booked_at = serializers.DateTimeField()
        amount = MoneyOutputSerializer(help_text="Signed: positive into the code, negative out of it.")
        is_reserved = serializers.BooleanField(help_text="A dealer holds the amount; it is not booked yet.")

    @extend_schema(responses=OutputSerializer(many=True), operation_id="customer_codes_history")
    def get(self, request: Request, code_id: str) -> Response:
        code = qr_code_get_for_user(user=request.user, public_id=code_id)
        movements = [
            {
                "transfer_id": movement.transfer_id,
                "kind": movement.kind,
                "booked_at": movement.booked_at,
                "amount": money_out(movement.amount),
                "is_reserved": movement.is_reserved,
            }
            for movement in code_movement_list(code=code)
        ]
        return Response(self.OutputSerializer(movements, many=True).data)


class BankTransferOutputSerializer(serializers.Serializer):
    beneficiary = serializers.CharField()
    iban = serializers.CharField()
    amount = MoneyOutputSerializer()
    creditor_reference = serializers.CharField(help_text="The RF reference to give with the transfer.")
    girocode_payload = serializers.CharField(help_text="The EPC QR (GiroCode) text a banking app can scan.")


class CheckoutStepOutputSerializer(serializers.Serializer):
    step = serializers.ChoiceField(
        choices=["card_payment_page", "bank_transfer", "none"],
        help_text="What the client does next: open the card page, make the bank transfer, or nothing (decided).",
    )
    url = serializers.URLField(allow_null=True, help_text="The page to open in a browser for this step.")
    bank_transfer = BankTransferOutputSerializer(allow_null=True)


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=CheckoutOrderStatus.choices)
    product = serializers.CharField(help_text="The product's slug.")
    amount = MoneyOutputSerializer()
    provider = serializers.ChoiceField(choices=CheckoutProvider.values)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    code = serializers.UUIDField(allow_null=True, help_text="The code the paid order issued.")
    checkout = CheckoutStepOutputSerializer()


def _checkout_step(request: Request, order: CheckoutOrder) -> dict[str, Any]:
    if order.status != CheckoutOrderStatus.AWAITING_PAYMENT:
        return {"step": "none", "url": None, "bank_transfer": None}
    if order.provider == CheckoutProvider.CARD_SANDBOX:
        url = request.build_absolute_uri(reverse("payments:sandbox-card-pay", args=[order.public_id]))
        return {"step": "card_payment_page", "url": url, "bank_transfer": None}
    transfer = {
        "beneficiary": settings.PAYMENTS_SEPA_BENEFICIARY_NAME,
        "iban": settings.PAYMENTS_SEPA_IBAN,
        "amount": money_out(order.amount_money),
        "creditor_reference": order.creditor_reference,
        "girocode_payload": sepa_order_payload(order=order),
    }
    url = request.build_absolute_uri(reverse("payments:qr-order-detail", args=[order.public_id]))
    return {"step": "bank_transfer", "url": url, "bank_transfer": transfer}


def _order_out(request: Request, order: CheckoutOrder) -> dict[str, Any]:
    return OrderOutputSerializer(
        {
            "id": order.public_id,
            "status": order.status,
            "product": order.product.slug if order.product else "",
            "amount": money_out(order.amount_money),
            "provider": order.provider,
            "created_at": order.created_at,
            "paid_at": order.paid_at,
            "code": order.code.public_id if order.code_id else None,
            "checkout": _checkout_step(request, order),
        }
    ).data


def _minor_units(value: Decimal | None, product: QrProduct) -> int | None:
    if value is None:
        return None
    try:
        money = Money.from_decimal(value, product.currency)
    except MoneyError:
        money = None
    if money is None or money.to_decimal() != value:
        raise ValidationFailed(
            gettext_lazy("Give the amount in whole cents."), code="amount_invalid", fields={"amount": ["invalid"]}
        )
    return money.amount


class CustomerOrderCreateApi(APIView):
    """Orders one payment code, as the shop page does. Needs `Idempotency-Key`: a retry answers the first order."""

    permission_classes = [IsCustomer]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "money"

    class InputSerializer(serializers.Serializer):
        product = serializers.SlugField(max_length=80, help_text="The product's slug (see the product list).")
        amount = serializers.DecimalField(
            max_digits=12,
            decimal_places=2,
            min_value=Decimal("0.01"),
            required=False,
            allow_null=True,
            help_text="Major units as a decimal string; only for products with a chosen value.",
        )
        provider = serializers.ChoiceField(choices=CheckoutProvider.values)

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OrderOutputSerializer},
        description="A retry with the same Idempotency-Key answers the first response again, with the same status.",
        operation_id="customer_orders_create",
    )
    def post(self, request: Request) -> Response:
        def order() -> Response:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            product = qr_product_list_active().filter(slug=data["product"]).first()
            if product is None:
                raise ValidationFailed(
                    gettext_lazy("This product is not on sale."),
                    code="product_unknown",
                    fields={"product": ["unknown"]},
                )
            created, _ = checkout_order_create(
                customer=request.user,
                product=product,
                amount=_minor_units(data.get("amount"), product),
                provider=data["provider"],
            )
            created = checkout_order_get_for_user(user=request.user, public_id=created.public_id)
            return Response(_order_out(request, created), status=status.HTTP_201_CREATED)

        return idempotent_api_call(request, operation="payments.customer_order_create", action=order)


class CustomerOrderDetailApi(APIView):
    """One of the customer's code orders: poll it after the checkout step until it is paid or declined."""

    permission_classes = [IsCustomer]

    @extend_schema(responses=OrderOutputSerializer, operation_id="customer_orders_retrieve")
    def get(self, request: Request, order_id: str) -> Response:
        order = checkout_order_get_for_user(user=request.user, public_id=order_id)
        if order.kind != CheckoutOrderKind.QR_CODE:  # a vehicle top-up is followed on the vehicle's page
            raise Http404("No such order.")
        return Response(_order_out(request, order))
