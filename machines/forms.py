"""Forms of the machines pages; amounts are entered in EUR and converted to minor units by `Money`."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.form_fields import LocalizedDecimalField
from core.idempotency import IdempotentForm
from core.money import Money
from machines.services.registry import STATION_PASSWORD_MAX_LENGTH, STATION_PASSWORD_MIN_LENGTH


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
    owner_email = forms.EmailField(required=False, label=_("Owner's e-mail (back office only)"))


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
