"""Forms of the site pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CustomerSearchForm(forms.Form):
    query = forms.CharField(
        label=_("E-mail or reference"),
        max_length=254,
        required=False,
        strip=True,
        help_text=_("An e-mail address or part of it, an application number or reference, or a contract number."),
    )
