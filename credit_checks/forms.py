"""Forms of the credit-check pages; amounts are typed in major units and converted to minor units once."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from credit_checks.models import CreditCheckPurpose, CreditCheckReview
from identity.credentials.types import SCORE_BANDS

_BANDS = [(band, band) for band in SCORE_BANDS]


class CreditCheckRequestForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=CreditCheckPurpose.choices)
    instalment = forms.DecimalField(
        label=_("Monthly instalment"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2
    )
    currency = forms.RegexField(label=_("Currency"), regex=r"^[A-Z]{3}$", initial="EUR", max_length=3)
    term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=120)
    lease_application_id = forms.IntegerField(
        label=_("Lease application number (optional)"),
        required=False,
        min_value=1,
        help_text=_(
            "The verdict reaches it only if it is your organisation's application of the customer who answers."
        ),
    )

    def amount_minor(self) -> int:
        """The instalment in minor units (two decimals), rounded half up."""
        value = self.cleaned_data["instalment"] * 100
        return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class CreditPolicyForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=CreditCheckPurpose.choices)
    minimum_score_band = forms.ChoiceField(label=_("Minimum score band (approve)"), choices=_BANDS)
    referral_score_band = forms.ChoiceField(label=_("Lowest band referred to a person"), choices=_BANDS)
    max_credential_age_days = forms.IntegerField(label=_("Maximum credential age (days)"), min_value=1, max_value=730)


class CreditCheckReviewForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CreditCheckReview.Outcome.choices)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class CreditCheckContestForm(forms.Form):
    message = forms.CharField(
        label=_("Why do you contest the decision?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000
    )
