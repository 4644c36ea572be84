"""Authorization matrix of the portal-wide and accounts pages and endpoints."""

from accounts import invitations, services
from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from portal.authorization import Case


def _invitation(owner):
    """An open invitation sent by a staff administrator (the matrix's own users are not administrators)."""
    administrator = UserFactory(role=Role.BACK_OFFICE)
    invitations.staff_admin_grant(user=administrator)
    invitation = invitations.staff_invitation_create(
        invited_by=User.objects.get(pk=administrator.pk),
        email=f"invited-{administrator.pk}@example.test",
        display_name="Invited Person",
        role=Role.BACK_OFFICE,
    )
    return invitation.pk


def _staff_member(owner):
    return UserFactory(role=Role.DEALER).pk


def _token(owner):
    token, _ = services.api_token_create(user=owner, name="matrix")
    return token.pk


ALL_200 = {"anonymous": 200, "customer": 200, "dealer": 200, "back_office": 200}
# Staff administration needs back office *and* the manage_staff permission, which the matrix's users lack.
STAFF_ADMIN = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 403}

MATRIX = [
    Case("home", "GET", "/", ALL_200, route=""),
    Case("login page", "GET", "/accounts/login/", ALL_200, route="accounts/login/"),
    Case(
        "logout",
        "POST",
        "/accounts/logout/",
        {"anonymous": 302, "customer": 302, "dealer": 302, "back_office": 302},
        route="accounts/logout/",
    ),
    Case(
        "register page",
        "GET",
        "/accounts/register/",
        {"anonymous": 200, "customer": 302, "dealer": 302, "back_office": 302},
        route="accounts/register/",
    ),
    # Everyone may switch the language (a cookie; signed-in users also store it on their account).
    Case(
        "language switch",
        "POST",
        "/accounts/language/",
        {"anonymous": 302, "customer": 302, "dealer": 302, "back_office": 302},
        body={"language": "de", "next": "/"},
        route="accounts/language/",
    ),
    Case(
        "settings page",
        "GET",
        "/accounts/settings/",
        {"anonymous": 302, "customer": 200, "dealer": 200, "back_office": 200},
        route="accounts/settings/",
    ),
    Case(
        "notification preferences",
        "GET",
        "/accounts/settings/notifications/",
        {"anonymous": 302, "customer": 200, "dealer": 200, "back_office": 200},
        route="accounts/settings/notifications/",
    ),
    # The one-click unsubscribe link needs no login; a token the portal did not sign is refused alike for everyone.
    Case(
        "unsubscribe page",
        "GET",
        "/accounts/unsubscribe/not-a-token/",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        route="accounts/unsubscribe/<str:token>/",
    ),
    Case(
        "unsubscribe one-click",
        "POST",
        "/accounts/unsubscribe/not-a-token/",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        body={"List-Unsubscribe": "One-Click"},
        route="accounts/unsubscribe/<str:token>/",
    ),
    Case(
        "confirm link",
        "GET",
        "/accounts/confirm/not-a-token/",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        route="accounts/confirm/<str:token>/",
    ),
    Case("confirmation resend", "GET", "/accounts/confirm/resend/", ALL_200, route="accounts/confirm/resend/"),
    Case("terms of use", "GET", "/terms/", ALL_200, route="terms/"),
    Case("privacy notice", "GET", "/privacy/", ALL_200, route="privacy/"),
    Case(
        "customer search",
        "GET",
        "/back-office/customers/?query=example",
        {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200},
        route="back-office/customers/",
    ),
    Case("staff list", "GET", "/accounts/staff/", STAFF_ADMIN, route="accounts/staff/"),
    Case("staff invite", "POST", "/accounts/staff/invite/", STAFF_ADMIN, route="accounts/staff/invite/"),
    Case(
        "staff role",
        "GET",
        "/accounts/staff/{object}/role/",
        STAFF_ADMIN,
        make_object=_staff_member,
        route="accounts/staff/<int:user_id>/role/",
    ),
    Case(
        "staff invitation withdraw",
        "GET",
        "/accounts/staff/invitations/{object}/withdraw/",
        STAFF_ADMIN,
        make_object=_invitation,
        route="accounts/staff/invitations/<int:invitation_id>/withdraw/",
    ),
    # A forged link is refused alike for everyone, signed in or not.
    Case(
        "invitation accept",
        "GET",
        "/accounts/invitation/not-a-token/",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        route="accounts/invitation/<str:token>/",
    ),
    Case(
        "second factor setup",
        "GET",
        "/accounts/mfa/setup/",
        {"anonymous": 302, "customer": 302, "dealer": 302, "back_office": 302},
        route="accounts/mfa/setup/",
    ),
    Case(
        "second factor check",
        "GET",
        "/accounts/mfa/verify/",
        {"anonymous": 302, "customer": 302, "dealer": 200, "back_office": 200},
        route="accounts/mfa/verify/",
    ),
    Case(
        "recovery codes",
        "GET",
        "/accounts/security/recovery-codes/",
        {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 200},
        route="accounts/security/recovery-codes/",
    ),
    Case(
        "recovery codes regenerate",
        "POST",
        "/accounts/security/recovery-codes/",
        {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 200},
        route="accounts/security/recovery-codes/",
    ),
    Case("password reset", "GET", "/accounts/password-reset/", ALL_200, route="accounts/password-reset/"),
    Case(
        "password reset sent", "GET", "/accounts/password-reset/sent/", ALL_200, route="accounts/password-reset/sent/"
    ),
    Case(
        "password reset link",
        "GET",
        "/accounts/password-reset/MQ/set-password/",
        ALL_200,
        route="accounts/password-reset/<uidb64>/<token>/",
    ),
    Case(
        "password reset complete",
        "GET",
        "/accounts/password-reset/complete/",
        ALL_200,
        route="accounts/password-reset/complete/",
    ),
    Case("liveness", "GET", "/health/live", ALL_200, route="health/live"),
    Case("readiness", "GET", "/health/ready", ALL_200, route="health/ready"),
    Case("API schema", "GET", "/api/schema/", ALL_200, route="api/schema/"),
    Case("API docs", "GET", "/api/docs/", ALL_200, route="api/docs/"),
    Case(
        "me",
        "GET",
        "/api/accounts/me",
        {"anonymous": 401, "customer": 200, "dealer": 200, "back_office": 200},
        route="api/accounts/me",
    ),
    Case(
        "token list",
        "GET",
        "/api/accounts/tokens",
        {"anonymous": 401, "customer": 403, "dealer": 200, "back_office": 200},
        route="api/accounts/tokens",
    ),
    Case(
        "token create",
        "POST",
        "/api/accounts/tokens/new",
        {"anonymous": 401, "customer": 403, "dealer": 201, "back_office": 201},
        body={"name": "DMS"},
        route="api/accounts/tokens/new",
    ),
    Case(
        "token revoke",
        "DELETE",
        "/api/accounts/tokens/{object}",
        {"anonymous": 401, "customer": 403, "other_owner": 404, "dealer": 204, "back_office": 204},
        make_object=_token,
        route="api/accounts/tokens/<int:token_id>",
    ),
]
