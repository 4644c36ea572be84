"""Forms of the machines pages; amounts are entered in EUR and converted to minor units by `Money`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.form_fields import LocalizedDecimalField
from core.idempotency import IdempotentForm
from core.money import Money
from machines.services.registry import STATION_PASSWORD_MAX_LENGTH, STATION_PASSWORD_MIN_LENGTH
from machines.services.top_ups import TOP_UP_MAX_AMOUNT, TOP_UP_MIN_AMOUNT


def to_minor_units(value: Decimal) -> int:
    return Money.from_decimal(value, "EUR").amount


class VehicleForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Vehicle name"))
    session_limit = LocalizedDecimalField(
        min_value=Decimal("1"), max_digits=8, decimal_places=2, label=_("Limit per session (EUR)")
    )
    daily_limit = LocalizedDecimalField(
        min_value=Decimal("1"), max_digits=8, decimal_places=2, label=_("Limit per day (EUR)")
    )
    owner_email = forms.EmailField(
        required=False,
        label=_("Owner's e-mail"),
        help_text=_("The customer the vehicle belongs to. Leave empty to register it for yourself."),
    )

    def __init__(self, *args: Any, is_back_office: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_back_office:  # only back office registers vehicles for others
            del self.fields["owner_email"]


class LimitsForm(forms.Form):
    session_limit = LocalizedDecimalField(
        min_value=Decimal("1"), max_digits=8, decimal_places=2, label=_("Limit per session (EUR)")
    )
    daily_limit = LocalizedDecimalField(
        min_value=Decimal("1"), max_digits=8, decimal_places=2, label=_("Limit per day (EUR)")
    )


class TopUpForm(IdempotentForm):
    amount = LocalizedDecimalField(
        min_value=Decimal("0.01"), max_digits=8, decimal_places=2, label=_("Amount received (EUR)")
    )
    reference = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{3,40}$",
        label=_("Payment reference"),
        help_text=_("The bank or card payment's reference."),
    )


class OwnerTopUpForm(IdempotentForm):
    """The owner's top-up of a vehicle wallet: from one of their payment codes, or by card. `confirmed` is set by the
    confirmation page, so money moves only on its second submission."""

    source = forms.ChoiceField(
        choices=[("code", _("From one of my payment codes")), ("card", _("By card"))],
        widget=forms.RadioSelect,
        label=_("Pay with"),
    )
    code = forms.ChoiceField(required=False, label=_("Payment code"))
    amount = LocalizedDecimalField(
        min_value=Money(TOP_UP_MIN_AMOUNT, "EUR").to_decimal(),
        max_value=Money(TOP_UP_MAX_AMOUNT, "EUR").to_decimal(),
        max_digits=8,
        decimal_places=2,
        label=_("Amount (EUR)"),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, code_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [("", _("Choose a code")), *code_choices]
        if not code_choices:
            self.fields["code"].help_text = _("You have no code with a balance to spend.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("source") == "code" and not cleaned.get("code"):
            self.add_error("code", _("Choose one of your codes."))
        if cleaned.get("source") == "card":
            cleaned["code"] = ""
        return cleaned

    def amount_minor_units(self) -> int:
        return to_minor_units(self.cleaned_data["amount"])


class StationForm(forms.Form):
    station_id = forms.SlugField(max_length=48, label=_("Station id (last part of its OCPP URL)"))
    name = forms.CharField(max_length=100)
    password = forms.CharField(
        min_length=STATION_PASSWORD_MIN_LENGTH,
        max_length=STATION_PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput,
        label=_("Station password (HTTP Basic auth)"),
    )
    price_per_kwh = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Price per kWh (EUR)")
    )
    session_fee = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Session fee (EUR)")
    )
    idle_fee_per_minute = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Idle fee per minute (EUR)")
    )
    connector_count = forms.IntegerField(min_value=1, max_value=8, initial=2, label=_("Connectors"))


class PriceCeilingForm(forms.Form):
    """The most the owner accepts from any station, in EUR; a station above one of them cannot start a session."""

    max_price_per_kwh = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Highest price per kWh (EUR)")
    )
    max_session_fee = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Highest session fee (EUR)")
    )
    max_idle_fee_per_minute = LocalizedDecimalField(
        min_value=Decimal("0"), max_digits=6, decimal_places=2, label=_("Highest idle fee per minute (EUR)")
    )


class OperatorApprovalForm(forms.Form):
    """Which operator's stations may charge the vehicle; the choices are operators with approved stations."""

    operator = forms.TypedChoiceField(coerce=int, label=_("Charging operator"))

    def __init__(self, *args: object, operator_choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["operator"].choices = [("", _("Choose an operator")), *operator_choices]


class StationReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("decline", _("Decline"))], widget=forms.RadioSelect, label=_("Decision")
    )
