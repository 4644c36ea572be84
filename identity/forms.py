"""Forms of the trust-registry and key pages. Errors are attached to their fields and shown next to them."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from identity.models import IssuerKind
from identity.services.registry import CREDENTIAL_TYPES
from identity.services.trust_anchors import ANCHOR_CREDENTIAL_TYPES, credential_type_label

_TYPE_CHOICES = [(value, value) for value in CREDENTIAL_TYPES]


class IssuerRegisterForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=IssuerKind.choices)
    credential_types = forms.MultipleChoiceField(
        choices=_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple, label=_("May issue")
    )
    did = forms.CharField(
        max_length=300,
        required=False,
        label=_("DID"),
        help_text=_("did:key or did:web of an issuer that signs itself. Leave empty to have the portal host a key."),
    )
    did_document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("DID document (did:web only)"),
        help_text=_("The issuer's did.json, pinned so verification never depends on its web server."),
    )

    def clean_did_document(self) -> dict[str, Any] | None:
        text = self.cleaned_data["did_document"].strip()
        if not text:
            return None
        try:
            document = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("This is not valid JSON.")) from error
        if not isinstance(document, dict):
            raise forms.ValidationError(_("A DID document is a JSON object."))
        return document


class IssuerTypesForm(forms.Form):
    credential_types = forms.MultipleChoiceField(
        choices=_TYPE_CHOICES, widget=forms.CheckboxSelectMultiple, label=_("May issue")
    )


class IssuerClientForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Key name"), help_text=_("Which of the issuer's systems uses it."))


class CredentialStatusForm(forms.Form):
    credential_id = forms.CharField(max_length=45)
    action = forms.ChoiceField(choices=[("revoke", "Revoke"), ("suspend", "Suspend"), ("unsuspend", "Lift suspension")])


MAX_CERTIFICATE_UPLOAD_BYTES = 64 * 1024


class TrustAnchorAddForm(forms.Form):
    """Upload (or paste) one CA certificate in PEM and choose what it may vouch for; the service checks the rest."""

    name = forms.CharField(max_length=200, label=_("Name"), help_text=_("Who runs this CA, as staff will know it."))
    certificate_file = forms.FileField(
        required=False,
        label=_("Certificate file (PEM)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pem,.crt"}),
    )
    certificate_text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        label=_("Or paste the certificate"),
        help_text=_("The text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----."),
    )
    credential_types = forms.MultipleChoiceField(
        choices=[(value, credential_type_label(value)) for value in ANCHOR_CREDENTIAL_TYPES],
        widget=forms.CheckboxSelectMultiple,
        label=_("May vouch for"),
    )

    def clean_certificate_file(self) -> str:
        upload = self.cleaned_data.get("certificate_file")
        if not upload:
            return ""
        if upload.size > MAX_CERTIFICATE_UPLOAD_BYTES:
            raise forms.ValidationError(_("This file is too large for a certificate."))
        try:
            return bytes(upload.read()).decode("ascii")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(_("This is not a PEM certificate.")) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        pem = cleaned.get("certificate_file") or cleaned.get("certificate_text", "").strip()
        if not pem and "certificate_file" not in self.errors:
            self.add_error("certificate_file", _("Choose a certificate file or paste the certificate."))
        cleaned["certificate"] = pem
        return cleaned
