"""Authorization matrix of the identity pages, the VC-API and the public identity documents."""

from __future__ import annotations

import hashlib

from accounts.tests.factories import DealerOrganisationFactory
from identity.models import TrustAnchor
from identity.services import registry
from identity.services.anchoring import anchor_leaf_add
from identity.services.status import status_slots_allocate
from portal.authorization import Case

HOLDER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PUBLIC = {"anonymous": 200, "customer": 200, "dealer": 200, "back_office": 200}
BACK_OFFICE_PAGE = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200}
ANY_ROLE_VERIFIES = {"anonymous": 401, "customer": 400, "dealer": 400, "back_office": 400}


def _issuer(owner) -> int:
    return registry.trusted_issuer_register(
        name="Matrix bureau", kind="credit_bureau", credential_types=["CreditHistoryCredential"]
    ).pk


def _status_list(owner) -> str:
    return status_slots_allocate(issuer_did="did:key:z6MkmatrixIssuer").revocation_list.list_id


def _anchor(owner) -> int:
    from identity.services.trust_anchors import portal_trust_anchor_ensure

    portal_trust_anchor_ensure()
    return TrustAnchor.objects.get().pk


def _leaf(owner) -> str:
    leaf = anchor_leaf_add(leaf_hash=hashlib.sha256(b"matrix").digest(), source="settlement_batch", reference="m")
    return leaf.leaf_hash


def _dealer_slug(owner) -> str:
    return owner.dealer_organisation.slug if owner.dealer_organisation_id else DealerOrganisationFactory().slug


MATRIX = [
    Case(
        "wallet page",
        "GET",
        "/identity/wallet/",
        {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403},
        route="identity/wallet/",
    ),
    Case(
        "wallet page answering a presentation request",
        "GET",
        "/identity/wallet/openid4vp/?client_id=x509_san_dns%3Alocalhost&request_uri=https%3A%2F%2Flocalhost%2Fr",
        {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403},
        route="identity/wallet/openid4vp/",
    ),
    Case("trust registry", "GET", "/identity/issuers/", BACK_OFFICE_PAGE, route="identity/issuers/"),
    Case(
        "issuer detail",
        "GET",
        "/identity/issuers/{object}/",
        BACK_OFFICE_PAGE,
        make_object=_issuer,
        route="identity/issuers/<int:issuer_id>/",
    ),
    Case("trust anchors", "GET", "/identity/trust-anchors/", BACK_OFFICE_PAGE, route="identity/trust-anchors/"),
    Case(
        "suspend a trust anchor",
        "POST",
        "/identity/trust-anchors/{object}/suspend/",
        {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 302},
        make_object=_anchor,
        route="identity/trust-anchors/<int:anchor_id>/suspend/",
    ),
    Case(
        "reactivate a trust anchor",
        "POST",
        "/identity/trust-anchors/{object}/reactivate/",
        {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 302},
        make_object=_anchor,
        route="identity/trust-anchors/<int:anchor_id>/reactivate/",
    ),
    Case("keys and DIDs", "GET", "/identity/keys/", BACK_OFFICE_PAGE, route="identity/keys/"),
    Case("credentials and anchoring", "GET", "/identity/credentials/", BACK_OFFICE_PAGE, route="identity/credentials/"),
    Case(
        "issue as the portal",
        "POST",
        "/credentials/issue",
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 201},
        body={
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential", "PaymentHistoryCredential"],
                "credentialSubject": {"id": HOLDER_DID, "onTimePaymentCount": 3, "arrearsCount": 0},
            },
            "options": {"format": "vc-jwt"},
        },
        route="credentials/issue",
    ),
    Case(
        "verify a credential",
        "POST",
        "/credentials/verify",
        ANY_ROLE_VERIFIES,
        body={"verifiableCredential": "not-a-credential"},
        route="credentials/verify",
    ),
    Case(
        "verify a presentation",
        "POST",
        "/presentations/verify",
        ANY_ROLE_VERIFIES,
        body={"verifiablePresentation": "a~b~", "options": {"challenge": "c", "domain": "d"}},
        route="presentations/verify",
    ),
    Case(
        "update a credential's status",
        "POST",
        "/credentials/status",
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 404},
        body={
            "credentialId": "urn:uuid:00000000-0000-0000-0000-000000000000",
            "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": True}],
        },
        route="credentials/status",
    ),
    Case(
        "published status list",
        "GET",
        "/credentials/status/{object}",
        PUBLIC,
        make_object=_status_list,
        route="credentials/status/<str:list_id>",
    ),
    Case(
        "published Status List Token",
        "GET",
        "/credentials/token-status/{object}",
        PUBLIC,
        make_object=_status_list,
        route="credentials/token-status/<str:list_id>",
    ),
    Case(
        "publish a status list",
        "POST",
        "/credentials/status/{object}/publish",
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 204},
        make_object=_status_list,
        route="credentials/status/<str:list_id>/publish",
    ),
    Case(
        "anchor proof",
        "GET",
        "/credentials/anchors/{object}",
        PUBLIC,
        make_object=_leaf,
        route="credentials/anchors/<str:leaf_hash>",
    ),
    Case("portal DID document", "GET", "/.well-known/did.json", PUBLIC, route=".well-known/did.json"),
    Case(
        "dealer DID document",
        "GET",
        "/dealers/{object}/did.json",
        PUBLIC,
        make_object=_dealer_slug,
        route="dealers/<slug:slug>/did.json",
    ),
    Case(
        "wallet asks for a demo credential",
        "POST",
        "/api/identity/wallet/credentials",
        {"anonymous": 401, "customer": 201, "dealer": 403, "back_office": 403},
        body={"kind": "credit_history", "holderDid": HOLDER_DID, "format": "sd-jwt"},
        route="api/identity/wallet/credentials",
    ),
]


MATRIX += [
    # OpenID4VCI: metadata and type metadata are public; the OAuth endpoints authenticate by code, PIN, bearer token
    # or key proof, never by the portal session (a logged-in visitor without a token is refused like anyone).
    Case(
        "customer gets a credential offer",
        "GET",
        "/identity/wallet/credential-offer/",
        {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403},
        route="identity/wallet/credential-offer/",
    ),
    Case(
        "credential issuer metadata",
        "GET",
        "/.well-known/openid-credential-issuer",
        PUBLIC,
        route=".well-known/openid-credential-issuer",
    ),
    Case(
        "authorization server metadata",
        "GET",
        "/.well-known/oauth-authorization-server",
        PUBLIC,
        route=".well-known/oauth-authorization-server",
    ),
    Case(
        "authorization endpoint without a registered client",
        "GET",
        "/openid4vci/authorize",
        {"anonymous": 302, "customer": 400, "dealer": 403, "back_office": 403},
        route="openid4vci/authorize",
    ),
    Case(
        "token endpoint without a grant",
        "POST",
        "/openid4vci/token",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        route="openid4vci/token",
    ),
    Case("nonce endpoint", "POST", "/openid4vci/nonce", PUBLIC, route="openid4vci/nonce"),
    Case(
        "credential endpoint without an access token",
        "POST",
        "/openid4vci/credential",
        {"anonymous": 401, "customer": 401, "dealer": 401, "back_office": 401},
        body={"credential_configuration_id": "PaymentHistoryCredential"},
        route="openid4vci/credential",
    ),
    Case(
        "credential type metadata",
        "GET",
        "/credentials/types/payment-history",
        PUBLIC,
        route="credentials/types/<slug:type_name>",
    ),
]
