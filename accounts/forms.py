"""Forms of the account pages. Errors are attached to their fields and shown next to them."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import DealerOrganisation, User
from accounts.roles import Role


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            user = authenticate(self.request, email=email.lower(), password=password)
            if user is None:
                # One message for unknown e-mail, wrong password and unconfirmed account: no account discovery.
                raise forms.ValidationError(
                    _("E-mail or password is not correct, or the account is not confirmed yet.")
                )
            self.user = user
        return cleaned


class RegistrationForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password_confirm = forms.CharField(
        label=_("Repeat the password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(label=_("I accept the terms of use and the privacy notice"))

    def clean_email(self) -> str:
        # Whether the address already has an account is not said here: the page would tell anyone who has one.
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        if password:
            try:
                password_validation.validate_password(password, User(email=cleaned.get("email") or ""))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


_EMAIL_INVALID = {"invalid": _("Enter a valid e-mail address, e.g. name@example.com.")}


class ConfirmationResendForm(forms.Form):
    """Asks for the confirmation link again; answers the same whether the address has an account or not."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages=_EMAIL_INVALID,
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class TotpForm(forms.Form):
    token = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("Enter the 6-digit code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.RegexField(
        label=_("Recovery code"),
        regex=r"^\s*[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}\s*$",
        max_length=20,
        error_messages={"invalid": _("Enter one of your recovery codes, e.g. abcd-efgh-jkmn.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As my browser asks"))] + [(code, name) for code, name in settings.LANGUAGES],
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=_time_zone_choices,
        help_text=_("Every time on the portal, in your wallet and in exported files is shown in this zone."),
    )


class NotificationPreferencesForm(forms.Form):
    """One checkbox per optional kind of notification e-mail (the kinds the apps registered)."""

    def __init__(self, *args: Any, kinds: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind.code] = forms.BooleanField(label=kind.label, help_text=kind.description, required=False)


_STAFF_ROLE_CHOICES = [(Role.DEALER.value, Role.DEALER.label), (Role.BACK_OFFICE.value, Role.BACK_OFFICE.label)]


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=_STAFF_ROLE_CHOICES)
    dealer_organisation = forms.ModelChoiceField(
        label=_("Dealership"),
        queryset=DealerOrganisation.objects.all(),
        required=False,
        empty_label=_("None (back office)"),
        help_text=_("Dealer users only: the dealership they work for."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        role, organisation = cleaned.get("role"), cleaned.get("dealer_organisation")
        if role == Role.DEALER and organisation is None:
            self.add_error("dealer_organisation", _("Choose the dealership this person works for."))
        if role == Role.BACK_OFFICE and organisation is not None:
            self.add_error("dealer_organisation", _("Back-office users belong to no dealership."))
        return cleaned


class StaffInvitationForm(StaffRoleForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254, error_messages=_EMAIL_INVALID)
    display_name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("How the portal names this person to others, e.g. Anna Schmidt.")
    )
    field_order = ["email", "display_name", "role", "dealer_organisation"]

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class InvitationAcceptForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"), max_length=120, help_text=_("Shown to colleagues, e.g. on approvals you give.")
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password_confirm = forms.CharField(
        label=_("Repeat the password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        if password:
            try:
                password_validation.validate_password(password, User(email=self.email))
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned
