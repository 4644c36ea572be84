"""Credential configurations the issuer offers: configuration id → type (``vct``), claims builder, display.

Identity must not import the apps that compute claims (credit checks, leasing, payments). Those apps register a
:class:`CredentialConfiguration` here from their AppConfig.ready() with :func:`credential_configuration_register`;
the issuer only calls the ``claims_for`` it was given. The demo KYC provider's and demo bureau's configurations are
registered by identity itself while the demo issuers exist (IDENTITY_DEMO_ISSUERS).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class SignedBy(enum.StrEnum):
    """Who signs: the portal's X.509 issuer key (ES256 with ``x5c``), or a hosted demo issuer (EdDSA, did:key)."""

    PORTAL_X509 = "portal_x509"
    DEMO_KYC = "demo_kyc"
    DEMO_BUREAU = "demo_bureau"


@dataclass(frozen=True)
class ClaimDisplay:
    """One claim of the credential with the label a wallet shows for it."""

    name: str
    label: str | Promise


@dataclass(frozen=True)
class CredentialConfiguration:
    """One entry of ``credential_configurations_supported``.

    ``claims_for(user)`` returns the subject claims for that customer (each becomes a selectively disclosable claim
    of the SD-JWT VC); it reads, never writes. ``type_name`` is the last path segment of the ``vct`` URL, where the
    issuer serves the type metadata. ``validity`` is how long an issued credential is valid.
    """

    configuration_id: str
    credential_type: str
    type_name: str
    name: str | Promise
    description: str | Promise
    claims: tuple[ClaimDisplay, ...]
    claims_for: Callable[[User], Mapping[str, Any]]
    signed_by: SignedBy
    validity: timedelta
    is_available: Callable[[], bool] = field(default=lambda: True)


_REGISTRY: dict[str, CredentialConfiguration] = {}


def credential_configuration_register(configuration: CredentialConfiguration) -> None:
    """Add (or replace, on a second ready()) a configuration; ids and type names are unique."""
    for other in _REGISTRY.values():
        if other.type_name == configuration.type_name and other.configuration_id != configuration.configuration_id:
            raise ValueError(f"type name {configuration.type_name!r} is already used by {other.configuration_id!r}")
    _REGISTRY[configuration.configuration_id] = configuration


def credential_configurations() -> dict[str, CredentialConfiguration]:
    """The configurations offered now (a demo configuration disappears when the demo issuers are switched off)."""
    return {key: value for key, value in _REGISTRY.items() if value.is_available()}


def credential_configuration_get(configuration_id: object) -> CredentialConfiguration | None:
    if not isinstance(configuration_id, str):
        return None
    return credential_configurations().get(configuration_id)


def credential_configuration_by_type_name(type_name: str) -> CredentialConfiguration | None:
    return next((value for value in credential_configurations().values() if value.type_name == type_name), None)


def _demo_issuers_on() -> bool:
    return bool(settings.IDENTITY_DEMO_ISSUERS)


def demo_configurations_register() -> None:
    """The demo KYC provider's identity credential and the demo bureau's credit history, with the same claims the
    browser wallet's demo credentials carry."""
    credential_configuration_register(
        CredentialConfiguration(
            configuration_id="DemoIdentityCredential",
            credential_type="IdentityCredential",
            type_name="demo-identity",
            name=_("Identity (demo KYC provider)"),
            description=_("Verified identity, age over 18 and country of residence, from the demo KYC provider."),
            claims=(
                ClaimDisplay("isVerified", _("Identity verified")),
                ClaimDisplay("isOver18", _("Over 18")),
                ClaimDisplay("age_over_18", _("Over 18")),
                ClaimDisplay("countryOfResidence", _("Country of residence")),
            ),
            claims_for=lambda user: {
                "isVerified": True,
                "isOver18": True,
                "age_over_18": True,  # the PID's name for it, which the lease identity check asks for
                "countryOfResidence": "DE",
            },
            signed_by=SignedBy.DEMO_KYC,
            validity=timedelta(days=180),
            is_available=_demo_issuers_on,
        )
    )
    credential_configuration_register(
        CredentialConfiguration(
            configuration_id="DemoCreditHistoryCredential",
            credential_type="CreditHistoryCredential",
            type_name="demo-credit-history",
            name=_("Credit history (demo credit bureau)"),
            description=_("Score band, monthly affordability and negative records, from the demo credit bureau."),
            claims=(
                ClaimDisplay("scoreBand", _("Score band")),
                ClaimDisplay("affordabilityCeilingPerMonth", _("Affordable per month")),
                ClaimDisplay("negativeRecordBand", _("Negative records")),
            ),
            claims_for=_demo_credit_history_claims,
            signed_by=SignedBy.DEMO_BUREAU,
            validity=timedelta(days=180),
            is_available=_demo_issuers_on,
        )
    )


def _demo_credit_history_claims(user: User) -> dict[str, Any]:
    from django.utils import timezone

    from identity.services.wallet import DEMO_CREDIT_POLICY_URL

    return {
        "scoreBand": "B",
        "affordabilityCeilingPerMonth": {"amountMinor": 65_000, "currency": "EUR"},
        "negativeRecordBand": "none",
        "asOf": timezone.now().date().isoformat(),
        "issuerPolicy": DEMO_CREDIT_POLICY_URL,
    }
