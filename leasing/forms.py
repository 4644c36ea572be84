"""Forms of the leasing pages. Money is typed in major units ("29999.90") and becomes minor units here."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.form_fields import LocalizedDecimalField
from core.money import Money
from leasing.models import (
    ApplicationStatus,
    CollectionMethod,
    ContractStatus,
    CreditVerdict,
    LeaseProduct,
    PaymentTimingChoice,
    ProductKind,
    ServicePackage,
    ServicePackageKind,
    ToleranceKind,
)

MAX_AMOUNT = Decimal("10000000")


class MoneyField(LocalizedDecimalField):
    """A money amount in major units with at most two decimals; `clean` returns integer minor units (EUR)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(**kwargs)

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else Money.from_decimal(amount, "EUR").amount


class QuoteForm(forms.Form):
    product = forms.ModelChoiceField(queryset=LeaseProduct.objects.none(), to_field_name="code", label=_("Product"))
    price = MoneyField(label=_("Vehicle price (EUR)"), min_value=Decimal("0.01"))
    down_payment = MoneyField(label=_("Down payment (EUR)"), initial=0)
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=120)
    yearly_km = forms.IntegerField(
        label=_("Yearly mileage (km)"), required=False, min_value=1, max_value=200_000, help_text=_("Leases only.")
    )
    residual_value = MoneyField(
        label=_("Residual value / balloon (EUR)"),
        required=False,
        help_text=_("Residual-value leases and loans; a mileage lease sets it from the mileage."),
    )
    timing = forms.ChoiceField(label=_("Payments"), choices=PaymentTimingChoice.choices, initial="in_arrears")
    start_date = forms.DateField(
        label=_("Start date"),
        required=False,
        help_text=_("Empty for today."),
        # A calendar on phones and desktops; typed dates in the language's own form ("01.01.2027") are read as well.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    service_packages = forms.ModelMultipleChoiceField(
        label=_("Service packages"),
        queryset=ServicePackage.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional. Each package is offered with the products named in the list of products."),
    )

    def __init__(self, *args, products=None, **kwargs) -> None:
        """`products`: the active products as the page already fetched them, to draw the options from (no second
        query). A choice is still checked against the database when the form is validated."""
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        product.queryset = LeaseProduct.objects.filter(is_active=True)
        packages = self.fields["service_packages"]
        packages.queryset = ServicePackage.objects.filter(is_active=True).order_by("name")
        # Options from lists fetched in one plain query each: the model fields' own options read their query through
        # a server-side cursor, three round trips for a handful of rows.
        if products is not None:
            product.choices = [("", product.empty_label), *_model_choices(product, products)]
        packages.choices = _model_choices(packages, packages.queryset)

    def service_package_codes(self) -> list[str]:
        return [package.code for package in self.cleaned_data.get("service_packages") or []]


def _model_choices(field: forms.ModelChoiceField, objects) -> list[tuple[str, str]]:
    return [(field.prepare_value(obj), field.label_from_instance(obj)) for obj in objects]


class ApplyForm(forms.Form):
    dealer_organisation = forms.ModelChoiceField(queryset=None, required=False, label=_("Dealer (optional)"))

    def __init__(self, *args, organisations=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dealer_organisation"].queryset = organisations


class ContractAcceptForm(forms.Form):
    document_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    collection_method = forms.ChoiceField(label=_("Pay instalments by"), choices=CollectionMethod.choices)
    iban = forms.CharField(label=_("IBAN (for direct debit)"), required=False, max_length=42)
    bic = forms.CharField(label=_("BIC of your bank (optional)"), required=False, max_length=11)
    confirm = forms.BooleanField(label=_("I have read the contract document and accept it"), required=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class VerdictForm(ReasonForm):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=CreditVerdict.choices)


class PayoffForm(forms.Form):
    payoff_date = forms.DateField(label=_("Payoff date"))


class PauseForm(ReasonForm):
    until = forms.DateField(label=_("Pause dunning until"), required=False, help_text=_("Empty lifts the pause."))


class TerminateForm(forms.Form):
    payoff_quote = forms.IntegerField(widget=forms.HiddenInput)


class EndOfTermForm(forms.Form):
    driven_km = forms.IntegerField(label=_("Kilometres driven"), required=False, min_value=0, max_value=2_000_000)
    damage = MoneyField(label=_("Damage (EUR)"), initial=0)
    sale_proceeds = MoneyField(label=_("Sale proceeds (EUR)"), required=False)
    purchase = forms.BooleanField(label=_("The customer buys the vehicle"), required=False)


class RestructureForm(ReasonForm):
    effective_date = forms.DateField(label=_("Effective date"))
    holiday_months = forms.IntegerField(label=_("Payment holiday (months)"), min_value=0, max_value=6, initial=0)
    remaining_months = forms.IntegerField(label=_("Instalments after the holiday"), min_value=1, max_value=120)


class ReturnsImportForm(forms.Form):
    file = forms.FileField(
        label=_("Bank file of rejected or returned debits (pain.002 or camt.054, XML)"),
        help_text=_("The whole file is refused if any debit in it does not match; nothing is booked twice."),
    )


class ProductForm(forms.Form):
    code = forms.SlugField(
        label=_("Short name for the system"), max_length=40, help_text=_("Lower-case letters, digits and hyphens.")
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=ProductKind.choices)
    nominal_rate_percent = LocalizedDecimalField(
        label=_("Nominal rate (% per year)"), max_digits=6, decimal_places=3, min_value=0, max_value=100
    )
    arrangement_fee = MoneyField(label=_("Arrangement fee (EUR)"), initial=0)
    min_term_months = forms.IntegerField(label=_("Shortest term (months)"), min_value=1, max_value=120)
    max_term_months = forms.IntegerField(label=_("Longest term (months)"), min_value=1, max_value=120)
    min_price = MoneyField(label=_("Minimum price (EUR)"), min_value=Decimal("0.01"))
    max_price = MoneyField(label=_("Maximum price (EUR)"), min_value=Decimal("0.01"))
    max_residual_percent = LocalizedDecimalField(
        label=_("Maximum residual / balloon (% of price)"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=Decimal("99.99"),
        initial=0,
    )
    excess_km_rate = MoneyField(label=_("Excess km rate (EUR per km)"), initial=0)
    unused_km_rate = MoneyField(label=_("Unused km rate (EUR per km)"), initial=0)
    tolerance_kind = forms.ChoiceField(label=_("Mileage tolerance"), choices=ToleranceKind.choices)
    tolerance_km = forms.IntegerField(label=_("Tolerance (km)"), min_value=0, initial=0)
    mileage_bands = forms.CharField(
        label=_("Mileage bands (km:residual %, comma separated)"),
        required=False,
        help_text=_("e.g. 10000:55, 15000:50"),
        max_length=300,
    )
    is_active = forms.BooleanField(label=_("Offered to customers"), required=False, initial=True)

    def clean_mileage_bands(self) -> list[tuple[int, Decimal]]:
        bands = []
        for part in (self.cleaned_data.get("mileage_bands") or "").split(","):
            if not part.strip():
                continue
            km, _separator, percent = part.partition(":")
            try:
                bands.append((int(km.strip()), Decimal(percent.strip() or "0")))
            except (ValueError, ArithmeticError):
                raise forms.ValidationError(_("Write bands as km:percent, e.g. 15000:50.")) from None
        return bands


class ServicePackageForm(forms.Form):
    code = forms.SlugField(
        label=_("Short name for the system"), max_length=40, help_text=_("Lower-case letters, digits and hyphens.")
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=ServicePackageKind.choices)
    monthly_price = MoneyField(label=_("Monthly price (EUR)"), min_value=Decimal("0.01"))
    products = forms.ModelMultipleChoiceField(
        label=_("Offered with"),
        queryset=LeaseProduct.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class ApplicationSearchForm(forms.Form):
    """The filters of the application list: one box for the application number, reference or customer e-mail."""

    query = forms.CharField(
        label=_("Application number or customer e-mail"), max_length=254, required=False, strip=True
    )
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *ApplicationStatus.choices]


class ContractSearchForm(forms.Form):
    """The filters of the contract list: contract number or customer e-mail, and the status."""

    query = forms.CharField(label=_("Contract number or customer e-mail"), max_length=254, required=False, strip=True)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *ContractStatus.choices]
