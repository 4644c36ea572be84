"""Demo data for `make run`: idempotent, created through the services like any other data."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts import invitations
from accounts import services as account_services
from accounts.models import DealerOrganisation, User
from accounts.roles import Role
from accounts.selectors import user_has_confirmed_device


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str
    display_name: str = ""
    manages_staff: bool = False


DEMO_PASSWORD = "FinLab-demo-2026"  # noqa: S105 - a published demo login, created only by the demo command
# Two back-office users, so an application above the four-eyes limit can be approved by two different people.
DEMO_LOGINS = (
    DemoLogin(Role.CUSTOMER, "customer@demo.finlab.test", DEMO_PASSWORD),
    DemoLogin(Role.DEALER, "dealer@demo.finlab.test", DEMO_PASSWORD, "Lena Hoffmann"),
    DemoLogin(Role.BACK_OFFICE, "backoffice@demo.finlab.test", DEMO_PASSWORD, "Anna Schmidt", manages_staff=True),
    DemoLogin(Role.BACK_OFFICE, "backoffice2@demo.finlab.test", DEMO_PASSWORD, "Jonas Weber"),
)
DEMO_DEALER_SLUG = "autohaus-nord"


def demo_data_load() -> list[DemoLogin]:
    """Creates the demo people, then each app's demo data through its own services; running it again changes nothing.

    Order matters: identity needs the dealer organisations (their keys), payments and machines the demo users.
    """
    from identity.demo import identity_demo_data_load
    from leasing.demo import leasing_demo_data_load
    from machines.demo import machines_demo_data_load
    from payments.demo import payments_demo_data_load

    logins = _people_load()
    identity_demo_data_load()
    payments_demo_data_load(dealer_slug=DEMO_DEALER_SLUG, customer_email=_demo_customer_email())
    leasing_demo_data_load()
    machines_demo_data_load()
    return logins


def _demo_customer_email() -> str:
    return next(login.email for login in DEMO_LOGINS if login.role == Role.CUSTOMER)


@transaction.atomic
def _people_load() -> list[DemoLogin]:
    """The demo organisation and the demo users, each staff user with an enrolled second factor and a name."""
    organisation = DealerOrganisation.objects.filter(slug=DEMO_DEALER_SLUG).first()
    if organisation is None:
        organisation = account_services.dealer_organisation_create(name="Autohaus Nord GmbH", slug=DEMO_DEALER_SLUG)
    for login in DEMO_LOGINS:
        user = User.objects.filter(email=login.email).first()
        if user is None:
            user = account_services.user_create(
                email=login.email,
                password=login.password,
                role=login.role,
                dealer_organisation=organisation if login.role == Role.DEALER else None,
            )
        if login.role != Role.CUSTOMER and not user_has_confirmed_device(user=user):
            account_services.totp_device_create_confirmed(user=user)
        if login.display_name and not user.display_name:
            invitations.user_display_name_set(user=user, display_name=login.display_name)
        if login.manages_staff:
            invitations.staff_admin_grant(user=user)
    return list(DEMO_LOGINS)
