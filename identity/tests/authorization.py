"""Authorization matrix of the identity pages, the VC-API and the public identity documents."""

from __future__ import annotations

import hashlib

from accounts.tests.factories import DealerOrganisationFactory
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
    Case("trust registry", "GET", "/identity/issuers/", BACK_OFFICE_PAGE, route="identity/issuers/"),
    Case(
        "issuer detail",
        "GET",
        "/identity/issuers/{object}/",
        BACK_OFFICE_PAGE,
        make_object=_issuer,
        route="identity/issuers/<int:issuer_id>/",
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


# --- credit checks ---------------------------------------------------------------------------------------------------
DEALER_PAGE = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 403}
DEALER_OWN_PAGE = DEALER_PAGE | {"other_owner": 404}
CUSTOMER_PAGE = {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403}
SOMEONE_ELSES = {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403}
DEALER_API = {"anonymous": 401, "customer": 403, "back_office": 403}


def _credit_check(owner):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from identity.services.credit_checks import credit_check_request_create

    dealer = owner if owner.dealer_organisation_id else UserFactory(role=Role.DEALER)
    return credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=300_00, currency="EUR", term_months=24
    )


def _credit_check_id(owner) -> int:
    return _credit_check(owner).pk


def _credit_check_public_id(owner) -> str:
    return str(_credit_check(owner).public_id)


def _credit_check_link(owner) -> str:
    return _credit_check(owner).link_token


def _credit_check_link_claimed(owner) -> str:
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from identity.services.credit_checks import credit_check_claim

    request = _credit_check(owner)
    credit_check_claim(link_token=request.link_token, customer=UserFactory(role=Role.CUSTOMER))
    return request.link_token


def _credit_check_claimed_id(owner) -> int:
    from identity.models import CreditCheckRequest

    return CreditCheckRequest.objects.get(link_token=_credit_check_link_claimed(owner)).pk


def _verdict_id(owner) -> int:
    from identity.credit_checks.policy import credit_policy_current
    from identity.models import CreditCheckVerdict

    request = _credit_check(owner)
    policy = credit_policy_current(dealer_organisation=request.dealer_organisation, purpose="lease")
    verdict = CreditCheckVerdict.objects.create(
        request=request,
        outcome="referred",
        rule_results=["score_band_below_minimum"],
        policy=policy,
        disclosed_score_band="D",
        disclosed_ceiling=500_00,
        disclosed_ceiling_currency="EUR",
    )
    return verdict.pk


MATRIX += [
    Case("dealer's credit checks", "GET", "/identity/credit-checks/", DEALER_PAGE, route="identity/credit-checks/"),
    Case(
        "dealer's credit check",
        "GET",
        "/identity/credit-checks/{object}/",
        DEALER_OWN_PAGE,
        make_object=_credit_check_id,
        route="identity/credit-checks/<int:request_id>/",
    ),
    Case(
        "dealer's credit policy",
        "GET",
        "/identity/credit-checks/policy/",
        DEALER_PAGE,
        route="identity/credit-checks/policy/",
    ),
    Case(
        "customer opens a credit-check link",
        "GET",
        "/identity/credit-checks/respond/{object}/",
        CUSTOMER_PAGE,
        make_object=_credit_check_link,
        route="identity/credit-checks/respond/<str:link_token>/",
    ),
    Case(
        "customer opens a link another customer opened",
        "GET",
        "/identity/credit-checks/respond/{object}/",
        SOMEONE_ELSES,
        make_object=_credit_check_link_claimed,
        route="identity/credit-checks/respond/<str:link_token>/",
    ),
    Case(
        "another customer's credit check",
        "GET",
        "/identity/credit-checks/mine/{object}/",
        SOMEONE_ELSES,
        make_object=_credit_check_claimed_id,
        route="identity/credit-checks/mine/<int:request_id>/",
    ),
    Case(
        "another customer's consent receipt",
        "GET",
        "/identity/credit-checks/mine/{object}/receipt.json",
        SOMEONE_ELSES,
        make_object=_credit_check_claimed_id,
        route="identity/credit-checks/mine/<int:request_id>/receipt.json",
    ),
    Case(
        "payment-history credential page",
        "GET",
        "/identity/credit-checks/payment-history/",
        CUSTOMER_PAGE,
        route="identity/credit-checks/payment-history/",
    ),
    Case(
        "credit-check review queue",
        "GET",
        "/identity/credit-checks/reviews/",
        BACK_OFFICE_PAGE,
        route="identity/credit-checks/reviews/",
    ),
    Case(
        "credit-check review",
        "GET",
        "/identity/credit-checks/reviews/{object}/",
        BACK_OFFICE_PAGE,
        make_object=_verdict_id,
        route="identity/credit-checks/reviews/<int:verdict_id>/",
    ),
    Case(
        "dealer API opens a credit check",
        "POST",
        "/api/identity/credit-checks",
        DEALER_API | {"dealer": 201},
        body={"purpose": "lease", "amount": 30000, "currency": "EUR", "termMonths": 24},
        route="api/identity/credit-checks",
    ),
    Case(
        "dealer API polls a credit check",
        "GET",
        "/api/identity/credit-checks/{object}",
        DEALER_API | {"dealer": 200, "other_owner": 404},
        make_object=_credit_check_public_id,
        route="api/identity/credit-checks/<uuid:public_id>",
    ),
    Case(
        "dealer API sets the webhook",
        "PUT",
        "/api/identity/credit-checks/webhook",
        DEALER_API | {"dealer": 200},
        body={"url": "https://dms.dealer.example/finlab"},
        route="api/identity/credit-checks/webhook",
    ),
    Case(
        "wallet asks for the payment-history credential",
        "POST",
        "/api/identity/credit-checks/payment-history",
        {"anonymous": 401, "customer": 201, "dealer": 403, "back_office": 403},
        body={"kind": "payment_history", "holderDid": HOLDER_DID, "format": "sd-jwt"},
        route="api/identity/credit-checks/payment-history",
    ),
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
