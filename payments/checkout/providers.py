"""The payment-provider interface every checkout method implements, and the registry of the portal's providers.

A provider takes an order and tells the page where the customer goes next (`checkout_start`); it confirms payments
later, asynchronously: the card acquirer through a signed webhook, SEPA through an imported bank statement.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from payments.models import CheckoutOrder, CheckoutProvider


@dataclass(frozen=True, slots=True)
class CheckoutStart:
    """Where the customer continues after ordering: a URL path inside the portal."""

    next_path: str


class PaymentProvider(abc.ABC):
    """One way of paying an order. `name` is the stored `CheckoutOrder.provider` value."""

    name: CheckoutProvider

    @abc.abstractmethod
    def checkout_start(self, *, order: CheckoutOrder) -> CheckoutStart:
        """Prepares the provider's side of `order` and says where the customer goes next."""


class SandboxCardProvider(PaymentProvider):
    """The embedded card acquirer: the customer enters a test card on the acquirer's page, never on the portal's."""

    name = CheckoutProvider.CARD_SANDBOX

    def checkout_start(self, *, order: CheckoutOrder) -> CheckoutStart:
        return CheckoutStart(next_path=reverse("payments:sandbox-card-pay", args=[order.public_id]))


class SepaTransferProvider(PaymentProvider):
    """SEPA credit transfer: the order page shows a GiroCode with the RF reference; the statement import confirms."""

    name = CheckoutProvider.SEPA_TRANSFER

    def checkout_start(self, *, order: CheckoutOrder) -> CheckoutStart:
        return CheckoutStart(next_path=reverse("payments:qr-order-detail", args=[order.public_id]))


PROVIDERS: dict[str, PaymentProvider] = {
    provider.name: provider for provider in (SandboxCardProvider(), SepaTransferProvider())
}


def payment_provider_is_offered(*, name: str) -> bool:
    """Whether customers may pay with `name` here. The sandbox card acquirer is a test double that approves the
    published test cards, so production turns it off (`PAYMENTS_SANDBOX_ACQUIRER`)."""
    if name == CheckoutProvider.CARD_SANDBOX:
        return settings.PAYMENTS_SANDBOX_ACQUIRER
    return name in PROVIDERS


def payment_provider_get(*, name: str) -> PaymentProvider:
    """The provider stored under `name`; raises KeyError for one the portal does not offer."""
    return PROVIDERS[name]
