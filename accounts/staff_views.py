"""Staff administration pages: the staff list with the invitation form, role changes, withdrawing an invitation,
and the page where an invited person sets their password."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts import invitations, selectors
from accounts.forms import InvitationAcceptForm, StaffInvitationForm, StaffRoleForm
from accounts.permissions import role_required
from accounts.roles import Role
from core.errors import ApplicationError
from core.pagination import list_page


def staff_admin_required(view: Any) -> Any:
    """Back office with a verified second factor (role_required) and the `accounts.manage_staff` permission."""

    @role_required(Role.BACK_OFFICE)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(invitations.MANAGE_STAFF):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _attach(form: Any, error: ApplicationError) -> None:
    placed = [form.add_error(name, error.detail) for name in error.fields if name in form.fields]
    if not placed:
        form.add_error(None, error.detail)


def _staff_page(request: HttpRequest, form: StaffInvitationForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "listing": list_page(request, selectors.staff_list()),
        "invitations": selectors.staff_invitation_open_list(),
    }
    return render(request, "accounts/staff_list.html", context, status=status)


@staff_admin_required
def staff_list_view(request: HttpRequest) -> HttpResponse:
    return _staff_page(request, StaffInvitationForm())


@require_http_methods(["POST"])
@staff_admin_required
def staff_invite_view(request: HttpRequest) -> HttpResponse:
    form = StaffInvitationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitations.staff_invitation_create(
                invited_by=request.user,
                email=data["email"],
                display_name=data["display_name"],
                role=Role(data["role"]),
                dealer_organisation=data["dealer_organisation"],
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(request, gettext("The invitation is on its way to %(email)s.") % {"email": data["email"]})
            return redirect("accounts:staff-list")
    return _staff_page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@staff_admin_required
def staff_role_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """The role form is its own page: the change takes effect on the person's next request, so it is never one
    click away on the list."""
    member = selectors.staff_get(user_id=user_id)
    initial = {"role": member.area_role, "dealer_organisation": member.dealer_organisation}
    form = StaffRoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            invitations.staff_role_change(
                user=member,
                role=Role(form.cleaned_data["role"]),
                dealer_organisation=form.cleaned_data["dealer_organisation"],
                changed_by=request.user,
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(request, gettext("The role of %(name)s is changed.") % {"name": member.shown_name})
            return redirect("accounts:staff-list")
    context = {"member": member, "form": form, "changes": selectors.role_change_list_for_user(user=member)}
    return render(request, "accounts/staff_role.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@staff_admin_required
def staff_invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Asks first (GET), withdraws on the confirming POST."""
    invitation = selectors.staff_invitation_get(invitation_id=invitation_id)
    error = ""
    if request.method == "POST":
        try:
            invitations.staff_invitation_revoke(invitation=invitation, revoked_by=request.user)
        except ApplicationError as refused:
            error = refused.detail
        else:
            messages.success(request, gettext("The invitation is withdrawn; its link no longer works."))
            return redirect("accounts:staff-list")
    context = {"invitation": invitation, "error": error}
    return render(request, "accounts/staff_invitation_revoke.html", context, status=409 if error else 200)


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """An invited person chooses name and password; they are logged in and go on to enrol their second factor."""
    try:
        invitation = invitations.staff_invitation_get_by_token(token=token)
    except ApplicationError as error:
        return render(request, "accounts/invitation_invalid.html", {"reason": error.detail}, status=400)
    if request.user.is_authenticated:
        return render(request, "accounts/invitation_invalid.html", {"logged_in": True}, status=409)
    form = InvitationAcceptForm(
        request.POST or None, email=invitation.email, initial={"display_name": invitation.display_name}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.staff_invitation_accept(
                token=token,
                display_name=form.cleaned_data["display_name"],
                password=form.cleaned_data["password"],
                language=translation.get_language() or "",
            )
        except ApplicationError as error:
            return render(request, "accounts/invitation_invalid.html", {"reason": error.detail}, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, gettext("Your account is ready. Now set up your authenticator app."))
        return redirect("accounts:mfa-setup")
    context = {"invitation": invitation, "form": form}
    return render(request, "accounts/invitation_accept.html", context, status=400 if form.errors else 200)
