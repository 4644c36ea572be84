"""The e-mails leasing sends its customers, all mandatory (the customer must act on them, or SEPA requires them):
an application decided, a contract waiting for acceptance, a direct debit coming (the SEPA pre-notification, see
leasing.services.pre_notifications) and a direct debit returned by the bank. Registered with accounts' notifications
at start-up (LeasingConfig.ready)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.notifications import NotificationKind, day, link, money, notification_kind_register, notification_queue
from core.money import Money
from leasing.models import Application, ApplicationStatus, Collection, Contract

APPLICATION_DECIDED = "leasing.application_decided"
CONTRACT_OFFERED = "leasing.contract_offered"
DIRECT_DEBIT_COMING = "leasing.direct_debit_coming"
DIRECT_DEBIT_RETURNED = "leasing.direct_debit_returned"


def notification_kinds_register() -> None:
    for code, label, description, template in (
        (
            APPLICATION_DECIDED,
            gettext_lazy("A lease application was decided"),
            gettext_lazy("Whether your application was approved or declined."),
            "application_decided",
        ),
        (
            CONTRACT_OFFERED,
            gettext_lazy("A contract waits for your acceptance"),
            gettext_lazy("Your lease contract is ready to read and accept."),
            "contract_offered",
        ),
        (
            DIRECT_DEBIT_COMING,
            gettext_lazy("A direct debit is coming"),
            gettext_lazy("The amount and date of each direct debit, before it is collected (SEPA requires this)."),
            "direct_debit_coming",
        ),
        (
            DIRECT_DEBIT_RETURNED,
            gettext_lazy("A direct debit failed"),
            gettext_lazy("Your bank did not pay a direct debit; the instalment is still open."),
            "direct_debit_returned",
        ),
    ):
        notification_kind_register(
            NotificationKind(
                code=code,
                label=label,
                description=description,
                template=f"leasing/email/notifications/{template}",
                is_optional=False,
            )
        )


def application_decided_notify(*, application: Application) -> None:
    """Queues the decision of an application; call inside the transaction that decides it."""
    notification_queue(
        kind=APPLICATION_DECIDED,
        user_id=application.customer_id,
        event_key=f"application:{application.pk}:decided",
        context={
            "is_approved": application.status == ApplicationStatus.APPROVED,
            "financed_amount": money(Money(application.financed_amount, application.currency)),
            "application_link": link(reverse("leasing:application-detail", kwargs={"application_id": application.pk})),
        },
    )


def contract_offered_notify(*, contract: Contract) -> None:
    """Queues the invitation to read and accept an offered contract; call inside the transaction that offers it."""
    notification_queue(
        kind=CONTRACT_OFFERED,
        user_id=contract.customer_id,
        event_key=f"contract:{contract.pk}:offered",
        context={
            "number": contract.number,
            "start_date": day(contract.start_date),
            "term_months": contract.term_months,
            "contract_link": link(reverse("leasing:contract-detail", kwargs={"contract_id": contract.pk})),
        },
    )


def direct_debit_returned_notify(*, collection: Collection, contract: Contract) -> None:
    """Queues the news of a returned direct debit; call inside the transaction that books the return."""
    item = collection.schedule_item
    notification_queue(
        kind=DIRECT_DEBIT_RETURNED,
        user_id=contract.customer_id,
        event_key=f"collection:{collection.pk}:returned",
        context={
            "number": contract.number,
            "amount": money(Money(item.amount, contract.currency)),
            "due_date": day(item.due_date),
            "contract_link": link(reverse("leasing:contract-detail", kwargs={"contract_id": contract.pk})),
        },
    )
