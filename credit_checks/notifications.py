"""The e-mail credit checks sends customers: a dealer asked for a credit check (always sent: the check waits for
the customer's answer). It names the dealer and carries the link, nothing else: no amounts, scores or verdicts.
Registered with accounts' notifications at start-up (CreditChecksConfig.ready)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.notifications import NotificationKind, link, moment, notification_kind_register, notification_queue
from credit_checks.models import CreditCheckRequest
from leasing.selectors import application_customer_id_for_dealer

CREDIT_CHECK_REQUESTED = "credit_checks.credit_check_requested"


def notification_kinds_register() -> None:
    notification_kind_register(
        NotificationKind(
            code=CREDIT_CHECK_REQUESTED,
            label=gettext_lazy("A dealer asked for a credit check"),
            description=gettext_lazy("The link to answer a dealer's credit check for your lease application."),
            template="credit_checks/email/notifications/credit_check_requested",
            is_optional=False,
        )
    )


def credit_check_requested_notify(*, request: CreditCheckRequest) -> None:
    """Tells the customer of the lease application named in the request (if it is one of the dealer's, waiting for
    its credit check) that the dealer asks; call inside the transaction that opens the request. A request with no
    application, or a number that is not the dealer's, tells nobody: the dealer hands the link over in person."""
    if request.lease_application_id is None:
        return
    customer_id = application_customer_id_for_dealer(
        application_id=request.lease_application_id, dealer_organisation_id=request.dealer_organisation_id
    )
    if customer_id is None:
        return
    notification_queue(
        kind=CREDIT_CHECK_REQUESTED,
        user_id=customer_id,
        event_key=f"credit_check_request:{request.public_id}",
        context={
            "dealer": request.dealer_organisation.name,
            "expires_at": moment(request.expires_at),
            "respond_link": link(
                reverse("credit_checks:credit-check-respond", kwargs={"link_token": request.link_token})
            ),
        },
    )
