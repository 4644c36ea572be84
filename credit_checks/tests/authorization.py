"""Authorization matrix of the credit-check pages and the dealer credit-check API."""

from __future__ import annotations

from identity.tests.authorization import BACK_OFFICE_PAGE, HOLDER_DID
from portal.authorization import Case

# --- credit checks ---------------------------------------------------------------------------------------------------
DEALER_PAGE = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 403}
DEALER_OWN_PAGE = DEALER_PAGE | {"other_owner": 404}
CUSTOMER_PAGE = {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403}
SOMEONE_ELSES = {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403}
DEALER_API = {"anonymous": 401, "customer": 403, "back_office": 403}


def _credit_check(owner):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from credit_checks.services import credit_check_request_create

    dealer = owner if owner.dealer_organisation_id else UserFactory(role=Role.DEALER)
    return credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=300_00, currency="EUR", term_months=24
    )


def _credit_check_id(owner) -> int:
    return _credit_check(owner).pk


def _wallet_request_id(owner) -> str:
    """The OpenID4VP transaction a credit check opens: its request object and response endpoint are the wallet's."""
    return str(_credit_check(owner).presentation_transaction.public_id)


def _credit_check_public_id(owner) -> str:
    return str(_credit_check(owner).public_id)


def _credit_check_link(owner) -> str:
    return _credit_check(owner).link_token


def _credit_check_link_claimed(owner) -> str:
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from credit_checks.services import credit_check_claim

    request = _credit_check(owner)
    credit_check_claim(link_token=request.link_token, customer=UserFactory(role=Role.CUSTOMER))
    return request.link_token


def _credit_check_claimed_id(owner) -> int:
    from credit_checks.models import CreditCheckRequest

    return CreditCheckRequest.objects.get(link_token=_credit_check_link_claimed(owner)).pk


def _verdict_id(owner) -> int:
    from credit_checks.models import CreditCheckVerdict
    from credit_checks.policy import credit_policy_current

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


MATRIX = [
    Case(
        "dealer page's poll of its credit check",
        "GET",
        "/identity/credit-checks/{object}/status.json",
        DEALER_OWN_PAGE,
        make_object=_credit_check_id,
        route="identity/credit-checks/<int:request_id>/status.json",
    ),
    Case(
        "wallet fetches the signed request object",
        "GET",
        "/openid4vp/request/{object}",
        {"anonymous": 200, "customer": 200, "dealer": 200, "back_office": 200},
        make_object=_wallet_request_id,
        route="openid4vp/request/<uuid:public_id>",
    ),
    Case(
        "wallet posts an answer without a state",
        "POST",
        "/openid4vp/response/{object}",
        {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400},
        make_object=_wallet_request_id,
        route="openid4vp/response/<uuid:public_id>",
    ),
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
]
