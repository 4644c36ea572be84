"""The three roles of people in the portal. A role is a Django group that grants one area permission."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    DEALER = "dealer", _("Dealer")
    BACK_OFFICE = "back_office", _("Back office")


# The permission (app_label.codename) each role's group carries; checked by every view through accounts.permissions.
ROLE_PERMISSIONS: dict[Role, str] = {
    Role.CUSTOMER: "accounts.customer_area",
    Role.DEALER: "accounts.dealer_area",
    Role.BACK_OFFICE: "accounts.back_office_area",
}

# Roles whose users must pass a second factor (TOTP) before they reach any page or session API.
ROLES_REQUIRING_SECOND_FACTOR = frozenset({Role.DEALER, Role.BACK_OFFICE})

# Highest first: a user ever given several role groups has the first role whose permission they hold.
ROLE_PRECEDENCE: tuple[Role, ...] = (Role.BACK_OFFICE, Role.DEALER, Role.CUSTOMER)


def role_from_permissions(permissions: set[str]) -> Role | None:
    """The role a set of granted permissions (app_label.codename) gives, highest first; None without an area one."""
    return next((role for role in ROLE_PRECEDENCE if ROLE_PERMISSIONS[role] in permissions), None)
