"""Pages of identity: the customer's browser wallet, and the back office's trust registry, keys and credentials."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.permissions import role_required
from accounts.roles import Role
from core.confirmation import confirmation_page
from core.errors import ApplicationError
from identity import selectors
from identity.forms import (
    CredentialStatusForm,
    IssuerClientForm,
    IssuerRegisterForm,
    IssuerTypesForm,
    TrustAnchorAddForm,
)
from identity.models import SigningKey
from identity.openid4vci import certificates, grants
from identity.services import keys, registry, status, trust_anchors
from identity.wallet_texts import wallet_messages
from identity.wallet_trust import wallet_trust_anchors


@role_required(Role.CUSTOMER)
def wallet_view(request: HttpRequest) -> HttpResponse:
    """The wallet lives in the browser (static/identity/wallet.js and static/identity/wallet/); the page only hosts
    it. It is also where a wallet link lands: ``?credential_offer=`` / ``?credential_offer_uri=`` (OpenID4VCI) and
    ``?client_id=&request_uri=`` (OpenID4VP), the same query a native wallet gets. The page hands the wallet the CA
    certificates it trusts for issuers' and verifiers' x5c chains, its sentences in the user's language, and its client
    id and redirect URI for the authorization code flow (the authorization response comes back here:
    ``?code=&state=&iss=``)."""
    context = {
        "portal_did": keys.portal_did(),
        "demo_issuers": settings.IDENTITY_DEMO_ISSUERS,
        "wallet_messages": wallet_messages(),
        "trust_anchors": wallet_trust_anchors(),
        "credential_issuer": certificates.credential_issuer_url(),
        "client_id": grants.BROWSER_WALLET_CLIENT_ID,
        "redirect_uri": grants.browser_wallet_redirect_uri(),
    }
    response = render(request, "identity/wallet.html", context)
    response["Cache-Control"] = "no-store"  # the query may carry a pre-authorized or an authorization code
    return response


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def issuer_list_view(request: HttpRequest) -> HttpResponse:
    form = IssuerRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issuer = registry.trusted_issuer_register(
                name=data["name"],
                kind=data["kind"],
                credential_types=data["credential_types"],
                did=data["did"] or None,
                did_document=data["did_document"],
            )
        except ApplicationError as error:
            _attach(form, error)
        else:
            messages.success(request, gettext("%(name)s is registered.") % {"name": issuer.name})
            return redirect("identity:issuer-detail", issuer_id=issuer.pk)
    context = {"form": form, "issuers": selectors.trusted_issuer_list()}
    return render(request, "identity/issuer_list.html", context, status=400 if form.errors else 200)


def _attach(form: Any, error: ApplicationError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service refusal next to the fields it names (``aliases`` maps a service's field name to the form's),
    or at the top of the form."""
    placed = False
    for name in error.fields:
        field = (aliases or {}).get(name, name)
        if field in form.fields:
            form.add_error(field, error.detail)
            placed = True
    if not placed:
        form.add_error(None, error.detail)


# Actions that stop credentials from verifying or a system from issuing ask once more (core.confirmation).
_ISSUER_CONFIRMATIONS = {
    "suspend": (
        gettext_lazy("Suspend %(name)s?"),
        gettext_lazy(
            "Credentials from this issuer stop verifying at once, in credit checks too, until it is trusted again."
        ),
        gettext_lazy("Yes, suspend"),
    ),
    "client-revoke": (
        gettext_lazy("Revoke this key of %(name)s?"),
        gettext_lazy(
            "The issuer's system can no longer sign in with this key. This cannot be undone; a new key can be created."
        ),
        gettext_lazy("Yes, revoke"),
    ),
}


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def issuer_detail_view(request: HttpRequest, issuer_id: int) -> HttpResponse:
    issuer = selectors.trusted_issuer_get(issuer_id=issuer_id)
    types_form = IssuerTypesForm(initial={"credential_types": issuer.credential_types})
    client_form = IssuerClientForm()
    new_key = None
    action = request.POST.get("action", "")
    if action in _ISSUER_CONFIRMATIONS:
        title, consequence, label = _ISSUER_CONFIRMATIONS[action]
        page = confirmation_page(
            request,
            title=str(title) % {"name": issuer.name},
            consequence=str(consequence),
            action_label=str(label),
            back_url=reverse("identity:issuer-detail", args=[issuer.pk]),
        )
        if page is not None:
            return page
    try:
        if action == "suspend":
            registry.trusted_issuer_suspend(issuer=issuer)
            messages.success(request, gettext("The issuer is suspended."))
        elif action == "reactivate":
            registry.trusted_issuer_reactivate(issuer=issuer)
            messages.success(request, gettext("The issuer is trusted again."))
        elif action == "types":
            types_form = IssuerTypesForm(request.POST)
            if types_form.is_valid():
                registry.trusted_issuer_types_set(
                    issuer=issuer, credential_types=types_form.cleaned_data["credential_types"]
                )
                messages.success(request, gettext("Credential types saved."))
        elif action == "client-create":
            client_form = IssuerClientForm(request.POST)
            if client_form.is_valid():
                _client, new_key = registry.issuer_client_create(issuer=issuer, name=client_form.cleaned_data["name"])
        elif action == "client-revoke":
            client = selectors.issuer_client_get(issuer=issuer, client_id=_int(request.POST.get("client_id")))
            registry.issuer_client_revoke(client=client)
            messages.success(request, gettext("The key is revoked."))
    except ApplicationError as error:
        messages.error(request, error.detail)
    if request.method == "POST" and new_key is None and not types_form.errors and not client_form.errors:
        return redirect("identity:issuer-detail", issuer_id=issuer.pk)
    issuer.refresh_from_db()
    context = {
        "issuer": issuer,
        "clients": selectors.issuer_client_list(issuer=issuer),
        "types_form": types_form,
        "client_form": client_form,
        "new_key": new_key,
    }
    invalid = types_form.errors or client_form.errors
    return render(request, "identity/issuer_detail.html", context, status=400 if invalid else 200)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def keys_view(request: HttpRequest) -> HttpResponse:
    """The portal's and dealers' did:web keys: rotate (old keys keep verifying) or withdraw a compromised old key."""
    if request.method == "POST":
        if request.POST.get("action") == "withdraw":
            page = confirmation_page(
                request,
                title=gettext("Withdraw this key?"),
                consequence=gettext(
                    "The key disappears from the DID document: signatures made with it no longer verify. Do this "
                    "only for a key that may be compromised. This cannot be undone."
                ),
                action_label=gettext("Yes, withdraw"),
                back_url=reverse("identity:keys"),
            )
            if page is not None:
                return page
        try:
            if request.POST.get("action") == "rotate":
                controller = request.POST.get("controller", "")
                if controller != keys.PORTAL_CONTROLLER and not controller.startswith("dealer:"):
                    raise ApplicationError(gettext("Only the portal's and dealers' keys rotate here."))
                keys.signing_key_rotate(controller=controller)
                messages.success(request, gettext("The key of %(controller)s is rotated.") % {"controller": controller})
            elif request.POST.get("action") == "withdraw":
                key = (
                    SigningKey.objects.exclude(controller__startswith="issuer:")
                    .filter(pk=_int(request.POST.get("key")))
                    .first()
                )
                if key is None:
                    raise ApplicationError(gettext("No such key."))
                keys.signing_key_withdraw(key=key)
                messages.success(request, gettext("The key is withdrawn from the DID document."))
        except ApplicationError as error:
            messages.error(request, error.detail)
        return redirect("identity:keys")
    keys.signing_key_active_get_or_create(controller=keys.PORTAL_CONTROLLER)
    context = {"signing_keys": selectors.signing_key_list(), "portal_did": keys.portal_did()}
    return render(request, "identity/keys.html", context)


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def credentials_view(request: HttpRequest) -> HttpResponse:
    """Issued credentials (ids, types, issuers, status; never content) and the anchoring queue."""
    form = CredentialStatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and form.cleaned_data["action"] in ("revoke", "suspend"):
        page = confirmation_page(
            request,
            title=gettext("Change the status of this credential?"),
            consequence=gettext("A revoked credential never verifies again. This cannot be undone.")
            if form.cleaned_data["action"] == "revoke"
            else gettext("The credential stops verifying until the suspension is lifted."),
            action_label=gettext("Yes, revoke") if form.cleaned_data["action"] == "revoke" else gettext("Yes, suspend"),
            back_url=reverse("identity:credentials"),
        )
        if page is not None:
            return page
    if request.method == "POST" and form.is_valid():
        try:
            record = selectors.credential_record_get_for_issuer(
                credential_id=form.cleaned_data["credential_id"], issuer_did=None
            )
            if form.cleaned_data["action"] == "revoke":
                status.credential_revoke(record=record)
            else:
                status.credential_suspension_set(record=record, is_suspended=form.cleaned_data["action"] == "suspend")
            messages.success(request, gettext("The status is updated and the list republished."))
        except Http404:
            messages.error(request, gettext("No credential with this id was issued here."))
        except ApplicationError as error:
            messages.error(request, error.detail)
        return redirect("identity:credentials")
    context = {"form": form, "records": selectors.credential_record_list(), "overview": selectors.anchoring_overview()}
    return render(request, "identity/credentials.html", context, status=400 if form.errors else 200)


@role_required(Role.BACK_OFFICE)
@require_http_methods(["GET", "POST"])
def trust_anchor_list_view(request: HttpRequest) -> HttpResponse:
    """The X.509 trust anchors with their state, and the form to add one; the portal's own CA is always listed."""
    trust_anchors.portal_trust_anchor_ensure()
    form = TrustAnchorAddForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            anchor = trust_anchors.trust_anchor_add(
                name=data["name"],
                pem=data["certificate"],
                credential_types=data["credential_types"],
                added_by=request.user,
            )
        except ApplicationError as error:
            _attach(form, error, aliases={"certificate": "certificate_file"})
        else:
            messages.success(request, gettext("%(name)s is a trust anchor now.") % {"name": anchor.name})
            return redirect("identity:trust-anchor-list")
    context = {"form": form, "anchors": selectors.trust_anchor_list()}
    return render(request, "identity/trust_anchor_list.html", context, status=400 if form.errors else 200)


@role_required(Role.BACK_OFFICE)
@require_http_methods(["POST"])
def trust_anchor_suspend_view(request: HttpRequest, anchor_id: int) -> HttpResponse:
    anchor = selectors.trust_anchor_get(anchor_id=anchor_id)
    trust_anchors.trust_anchor_suspend(anchor=anchor, suspended_by=request.user)
    messages.success(request, gettext("%(name)s is suspended.") % {"name": anchor.name})
    return redirect("identity:trust-anchor-list")


@role_required(Role.BACK_OFFICE)
@require_http_methods(["POST"])
def trust_anchor_reactivate_view(request: HttpRequest, anchor_id: int) -> HttpResponse:
    anchor = selectors.trust_anchor_get(anchor_id=anchor_id)
    trust_anchors.trust_anchor_reactivate(anchor=anchor, reactivated_by=request.user)
    messages.success(request, gettext("%(name)s is trusted again.") % {"name": anchor.name})
    return redirect("identity:trust-anchor-list")
