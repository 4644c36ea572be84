"""Staff administrators invite dealer and back-office users by e-mail and change their roles, with an audit trail;
nobody else can. The invited person sets a password and goes on to enrol the second factor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import invitations
from accounts.models import RoleChange, StaffInvitation, User
from accounts.roles import Role
from conftest import login_client

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-42"


@pytest.fixture
def administrator(make_user):
    user = make_user(Role.BACK_OFFICE, email="admin@example.test")
    invitations.staff_admin_grant(user=user)
    return User.objects.get(pk=user.pk)


def _invite(client, **changes):
    data = {"email": "New.Colleague@Example.test", "display_name": "Nina Neu", "role": "back_office"} | changes
    return client.post(reverse("accounts:staff-invite"), data)


def _link(message) -> str:
    return re.search(r"http://testserver(/accounts/invitation/\S+/)", message.body).group(1)


def test_an_administrator_invites_and_the_colleague_sets_a_password_then_enrols_a_second_factor(
    administrator, django_capture_on_commit_callbacks
):
    admin_client = login_client(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(admin_client)

    assert response.status_code == 302
    invitation = StaffInvitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by_id) == (
        "new.colleague@example.test",
        "back_office",
        administrator.pk,
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.colleague@example.test"]
    assert invitation.nonce not in mail.outbox[0].body  # the link is signed, not the stored value
    link = _link(mail.outbox[0])

    visitor = Client()
    assert "Nina Neu" in visitor.get(link).content.decode()
    accepted = visitor.post(link, {"display_name": "Nina Neumann", "password": PASSWORD, "password_confirm": PASSWORD})

    assert accepted.status_code == 302 and accepted["Location"] == reverse("accounts:mfa-setup")
    user = User.objects.get(email="new.colleague@example.test")
    assert (user.role, user.display_name, user.is_active, user.email_confirmed_at is not None) == (
        Role.BACK_OFFICE,
        "Nina Neumann",
        True,
        True,
    )
    assert user.check_password(PASSWORD)
    change = RoleChange.objects.get(user=user)
    assert (change.changed_by_id, change.old_role, change.new_role, change.invitation_id) == (
        administrator.pk,
        "",
        "back_office",
        invitation.pk,
    )
    # Staff must enrol the second factor before any staff page opens.
    assert visitor.get(reverse("leasing:application-list")).status_code in (302, 403)
    # The link works once.
    again = Client().post(link, {"display_name": "X", "password": PASSWORD, "password_confirm": PASSWORD})
    assert again.status_code == 400
    assert User.objects.filter(email="new.colleague@example.test").count() == 1


def test_a_dealer_invitation_names_the_dealership(
    administrator, dealer_organisation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(login_client(administrator), role="dealer", dealer_organisation=dealer_organisation.pk)

    Client().post(_link(mail.outbox[0]), {"display_name": "Nina", "password": PASSWORD, "password_confirm": PASSWORD})

    user = User.objects.get(email="new.colleague@example.test")
    assert (user.role, user.dealer_organisation_id) == (Role.DEALER, dealer_organisation.pk)


def test_a_colleague_who_accepts_in_german_gets_german_mail_until_choosing(
    administrator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(login_client(administrator))

    form = {"display_name": "Nina", "password": PASSWORD, "password_confirm": PASSWORD}
    Client().post(_link(mail.outbox[0]), form, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    user = User.objects.get(email="new.colleague@example.test")
    assert (user.language, user.signup_language, user.correspondence_language) == ("", "de", "de")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com."),
        ({"display_name": ""}, "display_name", "Dieses Feld ist zwingend erforderlich."),
        ({"role": "dealer"}, "dealer_organisation", "Wählen Sie den Händlerbetrieb, für den diese Person arbeitet."),
        ({"email": "admin@example.test"}, "email", "Ein Konto mit dieser E-Mail-Adresse existiert"),
    ],
)
def test_bad_invitations_are_answered_next_to_the_field_in_german(administrator, changes, field, message):
    client = login_client(administrator)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    response = _invite(client, **changes)

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert message in page
    assert StaffInvitation.objects.count() == 0


def test_bad_passwords_are_answered_next_to_the_field(administrator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(login_client(administrator))
    link = _link(mail.outbox[0])

    response = Client().post(link, {"display_name": "Nina", "password": "short", "password_confirm": "other"})

    assert response.status_code == 400
    assert 'id="id_password_error"' in response.content.decode()
    assert 'id="id_password_confirm_error"' in response.content.decode()
    assert not User.objects.filter(email="new.colleague@example.test").exists()


def test_expired_and_forged_links_create_no_account(administrator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(login_client(administrator))
    link = _link(mail.outbox[0])
    StaffInvitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    expired = Client().post(link, {"display_name": "N", "password": PASSWORD, "password_confirm": PASSWORD})
    forged = Client().get(link[:-3] + "xx/")

    assert (expired.status_code, forged.status_code) == (400, 400)
    assert not User.objects.filter(email="new.colleague@example.test").exists()


def test_withdrawing_an_invitation_asks_first_and_then_kills_the_link(
    administrator, django_capture_on_commit_callbacks
):
    client = login_client(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client)
    invitation = StaffInvitation.objects.get()
    url = reverse("accounts:staff-invitation-revoke", args=[invitation.pk])

    question = client.get(url)
    invitation.refresh_from_db()
    assert question.status_code == 200 and 'data-testid="confirm"' in question.content.decode()
    assert invitation.revoked_at is None

    assert client.post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Client().get(_link(mail.outbox[0])).status_code == 400
    assert client.post(url).status_code == 409  # already withdrawn


def test_a_role_change_is_recorded_and_applies_at_the_next_request(administrator, make_user, dealer_organisation):
    colleague = make_user(Role.BACK_OFFICE, email="colleague@example.test")
    colleague_client = login_client(colleague)
    assert colleague_client.get(reverse("leasing:arrears")).status_code == 200
    client = login_client(administrator)

    form = client.get(reverse("accounts:staff-role", args=[colleague.pk]))
    response = client.post(
        reverse("accounts:staff-role", args=[colleague.pk]),
        {"role": "dealer", "dealer_organisation": dealer_organisation.pk},
    )

    assert form.status_code == 200 and response.status_code == 302
    colleague.refresh_from_db()
    assert (colleague.role, colleague.dealer_organisation_id) == (Role.DEALER, dealer_organisation.pk)
    change = RoleChange.objects.get(user=colleague)
    assert (change.changed_by_id, change.old_role, change.new_role) == (administrator.pk, "back_office", "dealer")
    assert colleague_client.get(reverse("leasing:arrears")).status_code == 403


def test_administrators_cannot_change_their_own_role_nor_reach_customers(administrator, make_user):
    client = login_client(administrator)
    customer = make_user(Role.CUSTOMER)

    own = client.post(reverse("accounts:staff-role", args=[administrator.pk]), {"role": "dealer"})
    customer_page = client.get(reverse("accounts:staff-role", args=[customer.pk]))

    assert own.status_code == 400  # the dealership is missing, and it is their own role anyway
    own = client.post(reverse("accounts:staff-role", args=[administrator.pk]), {"role": "back_office"})
    assert own.status_code == 400 and "You cannot change your own role." in own.content.decode()
    assert customer_page.status_code == 404
    assert RoleChange.objects.count() == 0


def test_back_office_without_the_permission_and_dealers_cannot_manage_staff(back_office, dealer, make_user):
    colleague = make_user(Role.BACK_OFFICE)
    for user in (back_office, dealer):
        client = login_client(user)
        assert client.get(reverse("accounts:staff-list")).status_code == 403
        assert _invite(client).status_code == 403
        assert client.post(reverse("accounts:staff-role", args=[colleague.pk]), {"role": "dealer"}).status_code == 403
    assert StaffInvitation.objects.count() == 0 and RoleChange.objects.count() == 0
    with pytest.raises(invitations.StaffAdminRequired):
        invitations.staff_invitation_create(
            invited_by=back_office, email="x@example.test", display_name="X", role=Role.BACK_OFFICE
        )


def test_the_staff_page_names_people_and_lists_open_invitations(
    administrator, make_user, django_capture_on_commit_callbacks
):
    colleague = make_user(Role.BACK_OFFICE, email="jonas@example.test")
    invitations.user_display_name_set(user=colleague, display_name="Jonas Weber")
    client = login_client(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client)

    page = client.get(reverse("accounts:staff-list")).content.decode()

    assert "Jonas Weber" in page and "Nina Neu" in page and "admin@example.test" in page
    assert 'data-testid="invitation-row"' in page


def test_a_new_invitation_replaces_the_open_one_to_the_same_address(administrator, django_capture_on_commit_callbacks):
    client = login_client(administrator)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client, display_name="Nina N.")

    first, second = StaffInvitation.objects.order_by("pk")
    assert first.revoked_at is not None and second.is_open
    assert Client().get(_link(mail.outbox[0])).status_code == 400
    assert Client().get(_link(mail.outbox[1])).status_code == 200


def test_the_demo_has_two_named_back_office_users_so_four_eyes_completes_and_one_administers_staff():
    from portal.demo import DEMO_LOGINS, _people_load

    _people_load()
    _people_load()  # idempotent

    back_office = User.objects.filter(area_role=Role.BACK_OFFICE).order_by("email")
    assert [(user.email, user.display_name) for user in back_office] == [
        ("backoffice2@demo.finlab.test", "Jonas Weber"),
        ("backoffice@demo.finlab.test", "Anna Schmidt"),
    ]
    assert [user.has_perm(invitations.MANAGE_STAFF) for user in back_office] == [False, True]
    assert {login.email for login in DEMO_LOGINS} == set(User.objects.values_list("email", flat=True))
    assert User.objects.get(email="dealer@demo.finlab.test").shown_name == "Lena Hoffmann"
