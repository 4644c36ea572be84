"""Account pages: login with lockout, registration and confirmation, second-factor setup and check."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language
from django_otp import login as otp_login

from accounts import notifications, services
from accounts.forms import (
    ConfirmationResendForm,
    LoginForm,
    NotificationPreferencesForm,
    PreferencesForm,
    RecoveryCodeForm,
    RegistrationForm,
    TotpForm,
)
from accounts.models import EncryptedTotpDevice
from accounts.permissions import role_required
from accounts.roles import Role
from accounts.selectors import recovery_codes_unused_count, user_has_confirmed_device, user_requires_second_factor
from core.client_address import client_address
from core.errors import ApplicationError

_BLOCKED = _("Too many attempts. Wait a few minutes before trying again.")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _too_many(request: HttpRequest, scope: str) -> bool:
    return services.request_rate_exceeded(
        scope=scope, client=client_address(request), limit_per_minute=settings.LOGIN_RATE_PER_MINUTE
    )


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST if request.method == "POST" else None, request=request)
    status = 200
    if request.method == "POST":
        email = request.POST.get("email", "")[:254]
        if _too_many(request, "login") or services.login_is_locked(email=email, client_address=client_address(request)):
            context = {"form": LoginForm(request=request), "next": _safe_next(request), "blocked_message": _BLOCKED}
            return render(request, "accounts/login.html", context, status=429)
        if form.is_valid() and form.user is not None:
            services.login_failures_clear(email=email)
            login(request, form.user)  # rotates the session key: no session fixation
            if user_requires_second_factor(user=form.user):
                return redirect(
                    "accounts:mfa-verify" if user_has_confirmed_device(user=form.user) else "accounts:mfa-setup"
                )
            return HttpResponseRedirect(_safe_next(request))
        if form.non_field_errors():
            services.login_failure_record(email=email, client_address=client_address(request))
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, gettext("You are logged out."))
    return redirect("portal:home")


@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _too_many(request, "register"):
            context = {"form": RegistrationForm(), "blocked_message": _BLOCKED}
            return render(request, "accounts/register.html", context, status=429)
        if form.is_valid():
            try:
                services.customer_register(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    language=translation.get_language() or "",
                )
            except ApplicationError as error:
                if error.code != "email_taken":
                    form.add_error("email", error.detail)
                    return render(request, "accounts/register.html", {"form": form}, status=400)
                # The same answer as for a new address; the owner of the address is told by e-mail instead.
                services.registration_attempt_notify(email=form.cleaned_data["email"])
            resend_form = ConfirmationResendForm(initial={"email": form.cleaned_data["email"]})
            return render(request, "accounts/register_done.html", {"form": resend_form})
        return render(request, "accounts/register.html", {"form": form}, status=400)
    return render(request, "accounts/register.html", {"form": form})


@require_http_methods(["GET", "POST"])
def confirmation_resend_view(request: HttpRequest) -> HttpResponse:
    """ "Send the link again": the same answer for every address, limited per client address and per address."""
    form = ConfirmationResendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if _too_many(request, "confirmation-resend"):
            context = {"form": ConfirmationResendForm(), "blocked_message": _BLOCKED}
            return render(request, "accounts/register_done.html", context, status=429)
        if not form.is_valid():
            return render(request, "accounts/register_done.html", {"form": form}, status=400)
        services.email_confirmation_resend(email=form.cleaned_data["email"])
        messages.success(
            request,
            gettext("If this address waits for confirmation, a new link is on its way. Links sent earlier still work."),
        )
        return redirect("accounts:confirmation-resend")
    return render(request, "accounts/register_done.html", {"form": form or ConfirmationResendForm()})


def email_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.email_confirm(token=token)
    except ApplicationError as error:
        return render(request, "accounts/email_confirm_failed.html", {"reason": error.detail}, status=400)
    messages.success(request, gettext("Your e-mail is confirmed. You can log in now."))
    return redirect("accounts:login")


def _qr_data_uri(text: str) -> str:
    svg = segno.make(text, error="m").svg_inline(scale=4, dark="#111", light="#fff", omitsize=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@login_required
@require_http_methods(["GET", "POST"])
def mfa_setup_view(request: HttpRequest) -> HttpResponse:
    if not user_requires_second_factor(user=request.user) or user_has_confirmed_device(user=request.user):
        return redirect("accounts:mfa-verify" if user_has_confirmed_device(user=request.user) else "portal:home")
    device = services.totp_device_get_or_create_unconfirmed(user=request.user)
    form = TotpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        recovery_codes = services.totp_device_confirm(device=device, token=form.cleaned_data["token"])
        if recovery_codes is not None:
            otp_login(request, device)
            messages.success(request, gettext("Two-factor authentication is set up."))
            request.session[_RECOVERY_CODES_SESSION_KEY] = recovery_codes
            return redirect("accounts:recovery-codes")
        form.add_error("token", "This code does not match. Check the time on your phone and try again.")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    context = {"form": form, "qr_data_uri": _qr_data_uri(device.config_url), "secret": secret}
    return render(request, "accounts/mfa_setup.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    if not user_has_confirmed_device(user=request.user):
        return redirect("accounts:mfa-setup")
    using_recovery_code = "recovery_code" in request.POST
    form = TotpForm(request.POST if request.method == "POST" and not using_recovery_code else None)
    recovery_form = RecoveryCodeForm(request.POST if using_recovery_code else None)
    context = {"form": form, "recovery_form": recovery_form}
    if request.method == "POST":
        if services.login_is_locked(email=request.user.email, client_address=client_address(request)):
            context = {"form": TotpForm(), "recovery_form": RecoveryCodeForm(), "blocked_message": _BLOCKED}
            return render(request, "accounts/mfa_verify.html", context, status=429)
        device = EncryptedTotpDevice.objects.filter(user=request.user, confirmed=True).first()
        if using_recovery_code and recovery_form.is_valid():
            if device is not None and services.recovery_code_use(
                user=request.user, code=recovery_form.cleaned_data["recovery_code"]
            ):
                otp_login(request, device)
                messages.warning(request, _RECOVERY_CODE_SPENT)
                return redirect("accounts:recovery-codes")
            recovery_form.add_error("recovery_code", _("This recovery code is not valid or was already used."))
            services.login_failure_record(email=request.user.email, client_address=client_address(request))
        elif not using_recovery_code and form.is_valid():
            if device is not None and device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect("portal:home")
            form.add_error("token", "This code is not valid. Enter the current code from your app.")
            services.login_failure_record(email=request.user.email, client_address=client_address(request))
        return render(request, "accounts/mfa_verify.html", context, status=400)
    return render(request, "accounts/mfa_verify.html", context)


_RECOVERY_CODES_SESSION_KEY = "accounts.recovery_codes_to_show"
_RECOVERY_CODE_SPENT = _(
    "You signed in with a recovery code; it cannot be used again. Set up your authenticator app again or make new "
    "codes if few are left."
)


@role_required(Role.DEALER, Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """Shows new recovery codes once (after enrolment or regeneration) and how many unused ones are left; a POST
    replaces every earlier code with new ones."""
    if request.method == "POST":
        codes = services.recovery_codes_regenerate(user=request.user)
    else:
        codes = request.session.pop(_RECOVERY_CODES_SESSION_KEY, None)
    context = {"codes": codes, "unused_count": recovery_codes_unused_count(user=request.user)}
    response = render(request, "accounts/recovery_codes.html", context)
    response["Cache-Control"] = "no-store"
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per client address like login and registration: each request sends an
    e-mail, so an unlimited form would let anyone flood a mailbox."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _too_many(request, "password_reset"):
            context = self.get_context_data(form=self.get_form_class()(), blocked_message=_BLOCKED)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


@require_POST
def language_switch_view(request: HttpRequest) -> HttpResponse:
    """The header's language switch: Django's `set_language` (cookie, safe `next`), remembered on the user's account."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_preferences_update(user=request.user, language=language)
    return response


@csrf_exempt  # RFC 8058: the recipient's mail program POSTs here without a session; the signed token is the authority
@require_http_methods(["GET", "POST"])
def notification_unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe link of an optional notification, no login needed. GET (a person who clicked the link)
    asks for confirmation with one button; POST (that button, or the mail program's one-click request with the body
    "List-Unsubscribe=One-Click") turns the kind off. A link that does not verify changes nothing and says so."""
    try:
        if request.method == "POST":
            _user, kind = notifications.notification_unsubscribe(token=token)
        else:
            _user, kind = notifications.notification_unsubscribe_target(token=token)
    except notifications.NotificationUnsubscribeInvalid as error:
        context = {"state": "invalid", "reason": error.detail}
        return render(request, "accounts/notification_unsubscribe.html", context, status=400)
    state = "done" if request.method == "POST" else "confirm"
    context = {"state": state, "kind": kind, "action": request.path}
    response = render(request, "accounts/notification_unsubscribe.html", context)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences_view(request: HttpRequest) -> HttpResponse:
    """Which optional notification e-mails the signed-in user receives; the mandatory ones are listed as such."""
    kinds = notifications.notification_kinds()
    optional = [kind for kind in kinds if kind.is_optional]
    form = NotificationPreferencesForm(
        request.POST if request.method == "POST" else None,
        kinds=optional,
        initial=notifications.notification_preferences_get(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        notifications.notification_preferences_update(user=request.user, enabled=form.cleaned_data)
        messages.success(request, _("Your e-mail settings are saved."))
        return redirect("accounts:notification-preferences")
    mandatory = [kind for kind in kinds if not kind.is_optional]
    return render(request, "accounts/notification_preferences.html", {"form": form, "mandatory": mandatory})


@login_required
@require_http_methods(["GET", "POST"])
def preferences_view(request: HttpRequest) -> HttpResponse:
    """Language and time zone of the signed-in user."""
    user = request.user
    initial = {"language": user.language, "time_zone": user.time_zone}
    form = PreferencesForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(
            user=user, language=form.cleaned_data["language"], time_zone=form.cleaned_data["time_zone"]
        )
        response = redirect("accounts:preferences")
        if form.cleaned_data["language"]:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                form.cleaned_data["language"],
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                secure=settings.LANGUAGE_COOKIE_SECURE,
            )
        translation.activate(form.cleaned_data["language"] or translation.get_language())
        messages.success(request, _("Your settings are saved."))
        return response
    return render(request, "accounts/preferences.html", {"form": form})
