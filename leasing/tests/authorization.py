"""Authorization matrix of the leasing pages and API.

Objects are made for `owner`: a dealer owner originated the application or contract (its customer is someone else),
so customers get 404 for it, the originating dealer and back office see it, another dealer (`other_owner`) gets 404.
Only back office reaches the product, decision, change, arrears and direct-debit pages.
"""

from __future__ import annotations

import datetime
import uuid

from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from leasing.services import applications, arrears, quotes
from leasing.tests import factories, sepa_support
from portal.authorization import Case

ALL_200 = {"anonymous": 200, "customer": 200, "dealer": 200, "back_office": 200}
PAGE_ANY_ROLE = {"anonymous": 302, "customer": 200, "dealer": 200, "back_office": 200}
PAGE_PARTIES = {"anonymous": 302, "customer": 404, "dealer": 200, "back_office": 200, "other_owner": 404}
DEALER_PAGE = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 403}
BACK_OFFICE_GET = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200, "other_owner": 403}
BACK_OFFICE_POST = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 400, "other_owner": 403}


def _product():
    return factories.mileage_lease_product(code=f"m-{uuid.uuid4().hex[:10]}")


def _organisation(owner):
    return owner.dealer_organisation if owner.role == Role.DEALER else None


def _contract(owner, **kwargs):
    return factories.contract_active(
        customer=UserFactory(role=Role.CUSTOMER),
        back_office=UserFactory(role=Role.BACK_OFFICE),
        product=_product(),
        dealer_organisation=_organisation(owner),
        **kwargs,
    )


def _contract_id(owner) -> int:
    return _contract(owner).pk


def _application_id(owner) -> int:
    application = applications.application_create(
        customer=UserFactory(role=Role.CUSTOMER),
        quote_input=factories.quote_input(_product()),
        dealer_organisation=_organisation(owner),
    )
    return application.pk


def _quote_public_id(owner) -> str:
    return str(quotes.quote_create(data=factories.quote_input(_product())).public_id)


def _product_id(owner) -> int:
    return _product().pk


def _letter_path(owner) -> str:
    contract = _contract(owner)
    arrears.arrears_run(on=timezone.localdate() + datetime.timedelta(days=45))
    return f"{contract.pk}/letters/{contract.dunning_letters.get().pk}"


def _batch_id(owner) -> int:
    contract = _contract(owner, method="sepa_direct_debit", iban="DE89370400440532013000", timing="in_advance")
    return sepa_support.batch_built(contract=contract)


def _quote_product(owner) -> str:
    """Creates the product the quote body names; the path needs no object."""
    factories.mileage_lease_product(code="matrix-quote")
    return ""


MATRIX = [
    Case("lease calculator", "GET", "/leasing/", ALL_200, route="leasing/"),
    Case(
        "quote page",
        "GET",
        "/leasing/quotes/{object}/",
        ALL_200,
        make_object=_quote_public_id,
        route="leasing/quotes/<uuid:public_id>/",
    ),
    Case(
        "quote PDF",
        "GET",
        "/leasing/quotes/{object}/pdf",
        ALL_200,
        make_object=_quote_public_id,
        route="leasing/quotes/<uuid:public_id>/pdf",
    ),
    Case(
        "apply for a quote",
        "POST",
        "/leasing/quotes/{object}/apply/",
        {"anonymous": 302, "customer": 302, "dealer": 403, "back_office": 403},
        make_object=_quote_public_id,
        route="leasing/quotes/<uuid:public_id>/apply/",
    ),
    Case("application list", "GET", "/leasing/applications/", PAGE_ANY_ROLE, route="leasing/applications/"),
    Case("dealer lease payouts", "GET", "/leasing/dealer/payouts/", DEALER_PAGE, route="leasing/dealer/payouts/"),
    Case(
        "application page",
        "GET",
        "/leasing/applications/{object}/",
        PAGE_PARTIES,
        make_object=_application_id,
        route="leasing/applications/<int:application_id>/",
    ),
    Case(
        "application status (polled by its page)",
        "GET",
        "/leasing/applications/{object}/status.json",
        PAGE_PARTIES,
        make_object=_application_id,
        route="leasing/applications/<int:application_id>/status.json",
    ),
    Case(
        "start the identity check of an application",
        "POST",
        "/leasing/applications/{object}/identity-check/",
        {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403},
        make_object=_application_id,
        route="leasing/applications/<int:application_id>/identity-check/",
    ),
    Case("contract list", "GET", "/leasing/contracts/", PAGE_ANY_ROLE, route="leasing/contracts/"),
    Case(
        "contract page",
        "GET",
        "/leasing/contracts/{object}/",
        PAGE_PARTIES,
        make_object=_contract_id,
        route="leasing/contracts/<int:contract_id>/",
    ),
    Case(
        "contract document",
        "GET",
        "/leasing/contracts/{object}/document.pdf",
        PAGE_PARTIES,
        make_object=_contract_id,
        route="leasing/contracts/<int:contract_id>/document.pdf",
    ),
    Case(
        "contract accept",
        "POST",
        "/leasing/contracts/{object}/accept/",
        {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403, "other_owner": 403},
        make_object=_contract_id,
        route="leasing/contracts/<int:contract_id>/accept/",
    ),
    Case(
        "payoff quote",
        "POST",
        "/leasing/contracts/{object}/payoff/",
        {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 400, "other_owner": 403},
        make_object=_contract_id,
        route="leasing/contracts/<int:contract_id>/payoff/",
    ),
    Case(
        "dunning letter",
        "GET",
        "/leasing/contracts/{object}.pdf",
        PAGE_PARTIES,
        make_object=_letter_path,
        route="leasing/contracts/<int:contract_id>/letters/<int:letter_id>.pdf",
    ),
    Case("products", "GET", "/leasing/back-office/products/", BACK_OFFICE_GET, route="leasing/back-office/products/"),
    Case(
        "product create",
        "GET",
        "/leasing/back-office/products/new/",
        BACK_OFFICE_GET,
        route="leasing/back-office/products/new/",
    ),
    Case(
        "product edit",
        "GET",
        "/leasing/back-office/products/{object}/",
        BACK_OFFICE_GET,
        make_object=_product_id,
        route="leasing/back-office/products/<int:product_id>/",
    ),
    Case(
        "service package create",
        "GET",
        "/leasing/back-office/service-packages/new/",
        BACK_OFFICE_GET,
        route="leasing/back-office/service-packages/new/",
    ),
    Case(
        "manual verdict",
        "POST",
        "/leasing/back-office/applications/{object}/verdict/",
        BACK_OFFICE_POST,
        make_object=_application_id,
        route="leasing/back-office/applications/<int:application_id>/verdict/",
    ),
    Case(
        "approve",
        "POST",
        "/leasing/back-office/applications/{object}/approve/",
        BACK_OFFICE_POST,
        make_object=_application_id,
        route="leasing/back-office/applications/<int:application_id>/approve/",
    ),
    Case(
        "decline",
        "POST",
        "/leasing/back-office/applications/{object}/decline/",
        BACK_OFFICE_POST,
        make_object=_application_id,
        route="leasing/back-office/applications/<int:application_id>/decline/",
    ),
    Case(
        "pause dunning",
        "POST",
        "/leasing/back-office/contracts/{object}/pause/",
        BACK_OFFICE_POST,
        make_object=_contract_id,
        route="leasing/back-office/contracts/<int:contract_id>/pause/",
    ),
    Case(
        "terminate",
        "POST",
        "/leasing/back-office/contracts/{object}/terminate/",
        # Without a payoff quote the contract page says so (a message) instead of a 400 page.
        BACK_OFFICE_POST | {"back_office": 302},
        make_object=_contract_id,
        route="leasing/back-office/contracts/<int:contract_id>/terminate/",
    ),
    Case(
        "end of term",
        "POST",
        "/leasing/back-office/contracts/{object}/end-of-term/",
        BACK_OFFICE_POST,
        make_object=_contract_id,
        route="leasing/back-office/contracts/<int:contract_id>/end-of-term/",
    ),
    Case(
        "restructure",
        "POST",
        "/leasing/back-office/contracts/{object}/restructure/",
        BACK_OFFICE_POST,
        make_object=_contract_id,
        route="leasing/back-office/contracts/<int:contract_id>/restructure/",
    ),
    Case("arrears", "GET", "/leasing/back-office/arrears/", BACK_OFFICE_GET, route="leasing/back-office/arrears/"),
    Case(
        "direct debits",
        "GET",
        "/leasing/back-office/direct-debits/",
        BACK_OFFICE_GET,
        route="leasing/back-office/direct-debits/",
    ),
    Case(
        # The bank-file upload; an empty form is refused (400) for back office, everyone else never reaches it.
        "import rejected or returned debits",
        "POST",
        "/leasing/back-office/direct-debits/",
        BACK_OFFICE_POST,
        route="leasing/back-office/direct-debits/",
    ),
    Case(
        "pain.008 file",
        "GET",
        "/leasing/back-office/direct-debits/{object}/pain008.xml",
        BACK_OFFICE_GET,
        make_object=_batch_id,
        route="leasing/back-office/direct-debits/<int:batch_id>/pain008.xml",
    ),
    Case("API products", "GET", "/api/leasing/products", ALL_200, route="api/leasing/products"),
    Case(
        "API quote",
        "POST",
        "/api/leasing/quotes{object}",
        {"anonymous": 201, "customer": 201, "dealer": 201, "back_office": 201},
        make_object=_quote_product,
        body={
            "product_code": "matrix-quote",
            "price": 3_000_000,
            "down_payment": 300_000,
            "term_months": 36,
            "yearly_km": 15_000,
        },
        route="api/leasing/quotes",
    ),
    Case(
        "API contracts",
        "GET",
        "/api/leasing/contracts",
        {"anonymous": 401, "customer": 200, "dealer": 200, "back_office": 200},
        route="api/leasing/contracts",
    ),
    Case(
        "API contract",
        "GET",
        "/api/leasing/contracts/{object}",
        {"anonymous": 401, "customer": 404, "dealer": 200, "back_office": 200, "other_owner": 404},
        make_object=_contract_id,
        route="api/leasing/contracts/<int:contract_id>",
    ),
    Case(
        "API manual verdict",
        "POST",
        "/api/leasing/applications/{object}/credit-verdict",
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 200, "other_owner": 403},
        make_object=_application_id,
        body={"verdict": "approved", "reason": "Payslips checked"},
        route="api/leasing/applications/<int:application_id>/credit-verdict",
    ),
    Case(
        "API approval",
        "POST",
        "/api/leasing/applications/{object}/approve",
        # back office reaches the service, which refuses: the application still waits for its credit check
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 409, "other_owner": 403},
        make_object=_application_id,
        body={"reason": "Fits policy"},
        route="api/leasing/applications/<int:application_id>/approve",
    ),
]
