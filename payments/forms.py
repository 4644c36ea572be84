"""Forms of the payments pages. Amounts are typed in major units and become integer minor units in `minor_units`."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.form_fields import LocalizedDecimalField
from core.idempotency import IdempotentForm
from core.money import Money
from payments.checkout.providers import payment_provider_is_offered
from payments.models import CheckoutProvider, QrProduct

_AMOUNT = {"max_digits": 9, "decimal_places": 2, "min_value": Decimal("0.01")}


def minor_units(value: Decimal, currency: str = "EUR") -> int:
    """Major units typed by a person (Decimal("20.00")) to minor units (2000)."""
    return Money.from_decimal(value, currency).amount


class OrderForm(forms.Form):
    amount = LocalizedDecimalField(label=_("Value in EUR"), required=False, **_AMOUNT)
    provider = forms.ChoiceField(
        label=_("Pay with"), choices=CheckoutProvider.choices, widget=forms.RadioSelect, initial="card_sandbox"
    )

    def __init__(self, *args: object, product: QrProduct, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        self.fields["provider"].choices = [
            (value, label) for value, label in CheckoutProvider.choices if payment_provider_is_offered(name=value)
        ]
        self.fields["provider"].initial = (
            self.fields["provider"].choices[0][0] if self.fields["provider"].choices else None
        )
        if product.fixed_amount is not None:
            del self.fields["amount"]
        else:
            self.fields["amount"].required = True
            self.fields["amount"].label = _("Value in %(currency)s") % {"currency": product.currency}
            self.fields["amount"].help_text = _("From %(minimum)s to %(maximum)s.") % {
                "minimum": Money(product.min_amount, product.currency),
                "maximum": Money(product.max_amount, product.currency),
            }

    def amount_minor_units(self) -> int | None:
        value = self.cleaned_data.get("amount")
        return None if value is None else minor_units(value, self.product.currency)


class CardForm(forms.Form):
    """The sandbox acquirer's card form; the number is used once in memory and never stored."""

    card_number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    expiry = forms.RegexField(label=_("Expiry (MM/YY)"), regex=r"^(0[1-9]|1[0-2])/\d{2}$", max_length=5)
    cvc = forms.RegexField(label=_("Security code"), regex=r"^\d{3,4}$", max_length=4, widget=forms.PasswordInput)


class ChallengeForm(forms.Form):
    one_time_code = forms.CharField(label=_("One-time code"), max_length=8)


class RedeemForm(IdempotentForm):
    """A dealer reads a code by pasting its text or uploading a photo (or the camera fills the text field)."""

    token = forms.CharField(
        label=_("Code text"), required=False, max_length=400, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.FileField(label=_("Or a photo of the code"), required=False)
    amount = LocalizedDecimalField(label=_("Amount in EUR"), **_AMOUNT)
    reference = forms.CharField(label=_("Your reference (optional)"), required=False, max_length=64)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if not cleaned.get("token") and not cleaned.get("photo"):
            raise forms.ValidationError(_("Paste the code's text or upload a photo of it."))
        return cleaned


class AmountForm(IdempotentForm):
    amount = LocalizedDecimalField(label=_("Amount in EUR"), **_AMOUNT)


class InvoiceCreateForm(forms.Form):
    amount = LocalizedDecimalField(label=_("Amount in EUR"), **_AMOUNT)
    description = forms.CharField(label=_("What for"), required=False, max_length=120)


class InvoiceOpenForm(forms.Form):
    payload = forms.CharField(
        label=_("Invoice QR text"), required=False, max_length=512, widget=forms.Textarea(attrs={"rows": 3})
    )
    photo = forms.FileField(label=_("Or a photo of the invoice QR code"), required=False)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if not cleaned.get("payload") and not cleaned.get("photo"):
            raise forms.ValidationError(_("Paste the invoice QR text or upload a photo of it."))
        return cleaned


class InvoicePayForm(forms.Form):
    code = forms.TypedChoiceField(label=_("Pay from code"), coerce=int)

    def __init__(self, *args: object, codes: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = codes


class StatementImportForm(forms.Form):
    statement = forms.FileField(label=_("CAMT.053 statement (XML)"))


class ReviewResolveForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=200)
