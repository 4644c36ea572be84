"""Authorization matrix of the payments pages and endpoints (ledger, settlement; QR codes append theirs)."""

from __future__ import annotations

import uuid

from payments.ledger.services import account_create
from payments.models import AccountCode
from payments.tests.settlement.helpers import settlement_batch_closed_create
from portal.authorization import Case

BACK_OFFICE_PAGE = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200}
BACK_OFFICE_API = {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 200}


def _account(owner) -> int:
    return account_create(ledger="EUR", code=AccountCode.CLEARING, owner_reference="matrix:1").pk


def _settlement_batch(owner) -> int:
    return settlement_batch_closed_create()


MATRIX = [
    Case(
        "ledger accounts page", "GET", "/payments/ledger/accounts/", BACK_OFFICE_PAGE, route="payments/ledger/accounts/"
    ),
    Case(
        "ledger statement page",
        "GET",
        "/payments/ledger/accounts/{object}/",
        BACK_OFFICE_PAGE,
        make_object=_account,
        route="payments/ledger/accounts/<int:account_id>/",
    ),
    Case(
        "transfer search page",
        "GET",
        "/payments/ledger/transfers/",
        BACK_OFFICE_PAGE,
        route="payments/ledger/transfers/",
    ),
    Case(
        "reconciliation page",
        "GET",
        "/payments/ledger/reconciliation/",
        BACK_OFFICE_PAGE,
        route="payments/ledger/reconciliation/",
    ),
    Case(
        "settlement batches page",
        "GET",
        "/payments/settlement/batches/",
        BACK_OFFICE_PAGE,
        route="payments/settlement/batches/",
    ),
    Case(
        "settlement batch page",
        "GET",
        "/payments/settlement/batches/{object}/",
        BACK_OFFICE_PAGE,
        make_object=_settlement_batch,
        route="payments/settlement/batches/<int:batch_id>/",
    ),
    Case("accounts API", "GET", "/api/payments/accounts", BACK_OFFICE_API, route="api/payments/accounts"),
    Case(
        "statement API",
        "GET",
        "/api/payments/accounts/{object}/statement",
        BACK_OFFICE_API,
        make_object=_account,
        route="api/payments/accounts/<int:account_id>/statement",
    ),
    Case(
        "transfer batch API",
        "POST",
        "/api/payments/transfers",
        {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 400},
        body={},
        route="api/payments/transfers",
    ),
    Case(
        "transfer search API",
        "GET",
        "/api/payments/transfers/search",
        BACK_OFFICE_API,
        route="api/payments/transfers/search",
    ),
    Case(
        "reconciliation API",
        "GET",
        "/api/payments/reconciliation",
        BACK_OFFICE_API,
        route="api/payments/reconciliation",
    ),
    Case(
        "settlement batches API",
        "GET",
        "/api/payments/settlement/batches",
        BACK_OFFICE_API,
        route="api/payments/settlement/batches",
    ),
    Case(
        "settlement batch API",
        "GET",
        "/api/payments/settlement/batches/{object}",
        BACK_OFFICE_API,
        make_object=_settlement_batch,
        route="api/payments/settlement/batches/<int:batch_id>",
    ),
    Case(
        "settlement backlog API",
        "GET",
        "/api/payments/settlement/backlog",
        BACK_OFFICE_API,
        route="api/payments/settlement/backlog",
    ),
]


# --- QR payment codes and checkout ------------------------------------------------------------------------------------
def _qr_customer():
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    return UserFactory(role=Role.CUSTOMER)


def _qr_dealer(owner):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    return owner if getattr(owner, "role", None) == Role.DEALER else UserFactory(role=Role.DEALER)


def _qr_product(owner) -> str:
    from payments.tests.qr.factories import product_create

    return product_create().slug


def _qr_code(owner) -> str:
    from payments.tests.qr.factories import paid_code_create

    return str(paid_code_create(owner=_qr_customer(), amount=5_000).public_id)


def _qr_order(owner) -> str:
    from payments.checkout.services import checkout_order_create
    from payments.tests.qr.factories import product_create

    order, _ = checkout_order_create(
        customer=_qr_customer(), product=product_create(), amount=2_000, provider="card_sandbox"
    )
    return str(order.public_id)


def _qr_redemption(owner) -> str:
    from payments.qr.redemptions import RedemptionRequest, qr_redemption_authorize
    from payments.qr.selectors import qr_code_view
    from payments.tests.qr.factories import paid_code_create

    code = paid_code_create(owner=_qr_customer(), amount=5_000)
    request = RedemptionRequest(
        token=qr_code_view(code=code).token, amount=1_000, currency="EUR", idempotency_key=uuid.uuid4().hex
    )
    return str(qr_redemption_authorize(user=_qr_dealer(owner), request=request).public_id)


def _qr_invoice(owner):
    from payments.qr.invoices import dealer_invoice_create

    dealer = _qr_dealer(owner)
    return dealer_invoice_create(user=dealer, organisation=dealer.dealer_organisation, amount=1_500)


def _qr_review_entry(owner) -> int:
    from payments.checkout.sepa import bank_statement_import
    from payments.models import BankStatementEntry
    from payments.tests.checkout.test_sepa import _entry, camt053

    data = camt053(_entry(f"MATRIX-{uuid.uuid4().hex[:8]}", "10.00", "RF00UNKNOWN"), message_id=uuid.uuid4().hex[:20])
    bank_statement_import(data=data, user=_qr_customer())
    return BankStatementEntry.objects.order_by("-id").first().pk


PUBLIC_PAGE = {"anonymous": 200, "customer": 200, "dealer": 200, "back_office": 200}
CUSTOMER_PAGE = {"anonymous": 302, "customer": 200, "dealer": 403, "back_office": 403}
CUSTOMER_OBJECT = {"anonymous": 302, "customer": 404, "dealer": 403, "back_office": 403}
DEALER_PAGE = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 403}
DEALER_OBJECT = {"anonymous": 302, "customer": 403, "dealer": 200, "back_office": 403, "other_owner": 404}
DEALER_OBJECT_POST = {"anonymous": 302, "customer": 403, "dealer": 302, "back_office": 403, "other_owner": 404}
DEALER_API = {"anonymous": 401, "customer": 403, "dealer": 200, "back_office": 403, "other_owner": 404}
CODE = "/payments/qr/codes/{object}/"
REDEMPTION = "/payments/qr/dealer/redemptions/{object}/"
API_REDEMPTION = "/api/payments/qr-redemptions/{object}"

MATRIX += [
    Case("QR shop", "GET", "/payments/qr/shop/", PUBLIC_PAGE, route="payments/qr/shop/"),
    Case("QR product order", "GET", "/payments/qr/shop/{object}/", CUSTOMER_PAGE, make_object=_qr_product,
         route="payments/qr/shop/<slug:slug>/"),
    Case("QR order", "GET", "/payments/qr/orders/{object}/", CUSTOMER_OBJECT, make_object=_qr_order,
         route="payments/qr/orders/<uuid:order_id>/"),
    Case("sandbox card page", "GET", "/payments/checkout/sandbox/{object}/", CUSTOMER_OBJECT, make_object=_qr_order,
         route="payments/checkout/sandbox/<uuid:order_id>/"),
    Case("sandbox challenge", "GET", "/payments/checkout/sandbox/{object}/challenge/", CUSTOMER_OBJECT,
         make_object=_qr_order, route="payments/checkout/sandbox/<uuid:order_id>/challenge/"),
    Case("my codes", "GET", "/payments/qr/codes/", CUSTOMER_PAGE, route="payments/qr/codes/"),
    Case("code", "GET", CODE, CUSTOMER_OBJECT, make_object=_qr_code, route="payments/qr/codes/<uuid:code_id>/"),
    Case("code print", "GET", CODE + "print/", CUSTOMER_OBJECT, make_object=_qr_code,
         route="payments/qr/codes/<uuid:code_id>/print/"),
    Case("code PNG", "GET", CODE + "qr.png", CUSTOMER_OBJECT, make_object=_qr_code,
         route="payments/qr/codes/<uuid:code_id>/qr.png"),
    Case("code SVG", "GET", CODE + "qr.svg", CUSTOMER_OBJECT, make_object=_qr_code,
         route="payments/qr/codes/<uuid:code_id>/qr.svg"),
    Case("code block", "POST", CODE + "block/", CUSTOMER_OBJECT, make_object=_qr_code,
         route="payments/qr/codes/<uuid:code_id>/block/"),
    Case("customer statement", "GET", "/payments/qr/statement/", CUSTOMER_PAGE, route="payments/qr/statement/"),
    Case("customer statement CSV", "GET", "/payments/qr/statement.csv", CUSTOMER_PAGE,
         route="payments/qr/statement.csv"),
    Case("invoice open", "GET", "/payments/qr/invoices/", CUSTOMER_PAGE, route="payments/qr/invoices/"),
    Case("invoice pay", "GET", "/payments/qr/invoices/{object}/", CUSTOMER_PAGE,
         make_object=lambda owner: _qr_invoice(owner).reference, route="payments/qr/invoices/<str:reference>/"),
    Case("dealer redeem", "GET", "/payments/qr/dealer/redeem/", DEALER_PAGE, route="payments/qr/dealer/redeem/"),
    Case("dealer redemptions", "GET", "/payments/qr/dealer/redemptions/", DEALER_PAGE,
         route="payments/qr/dealer/redemptions/"),
    Case("dealer redemption", "GET", REDEMPTION, DEALER_OBJECT, make_object=_qr_redemption,
         route="payments/qr/dealer/redemptions/<uuid:redemption_id>/"),
    Case("dealer capture", "POST", REDEMPTION + "capture/", DEALER_OBJECT_POST, make_object=_qr_redemption,
         route="payments/qr/dealer/redemptions/<uuid:redemption_id>/capture/"),
    Case("dealer void", "POST", REDEMPTION + "void/", DEALER_OBJECT_POST, make_object=_qr_redemption,
         route="payments/qr/dealer/redemptions/<uuid:redemption_id>/void/"),
    Case("dealer refund", "POST", REDEMPTION + "refund/", DEALER_OBJECT_POST, make_object=_qr_redemption,
         route="payments/qr/dealer/redemptions/<uuid:redemption_id>/refund/"),
    Case("dealer invoices", "GET", "/payments/qr/dealer/invoices/", DEALER_PAGE, route="payments/qr/dealer/invoices/"),
    Case("dealer invoice", "GET", "/payments/qr/dealer/invoices/{object}/", DEALER_OBJECT,
         make_object=lambda owner: str(_qr_invoice(owner).public_id),
         route="payments/qr/dealer/invoices/<uuid:invoice_id>/"),
    Case("dealer statement", "GET", "/payments/qr/dealer/statement/", DEALER_PAGE,
         route="payments/qr/dealer/statement/"),
    Case("dealer statement CSV", "GET", "/payments/qr/dealer/statement.csv", DEALER_PAGE,
         route="payments/qr/dealer/statement.csv"),
    Case("QR ledger", "GET", "/payments/qr/back-office/statement/", BACK_OFFICE_PAGE,
         route="payments/qr/back-office/statement/"),
    Case("QR ledger CSV", "GET", "/payments/qr/back-office/statement.csv", BACK_OFFICE_PAGE,
         route="payments/qr/back-office/statement.csv"),
    Case("bank statement import", "GET", "/payments/qr/back-office/bank-statements/", BACK_OFFICE_PAGE,
         route="payments/qr/back-office/bank-statements/"),
    Case("bank review queue", "GET", "/payments/qr/back-office/review/", BACK_OFFICE_PAGE,
         route="payments/qr/back-office/review/"),
    Case("bank review resolve", "POST", "/payments/qr/back-office/review/{object}/resolve/",
         {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 302}, make_object=_qr_review_entry,
         route="payments/qr/back-office/review/<int:entry_id>/resolve/"),
    Case("redemption create", "POST", "/api/payments/qr-redemptions",
         {"anonymous": 401, "customer": 403, "dealer": 422, "back_office": 403}, body={},
         route="api/payments/qr-redemptions"),
    Case("redemption detail", "GET", API_REDEMPTION, DEALER_API, make_object=_qr_redemption,
         route="api/payments/qr-redemptions/<uuid:redemption_id>"),
    Case("redemption capture", "POST", API_REDEMPTION + "/capture", DEALER_API, body={"amount": 500},
         make_object=_qr_redemption, headers={"Idempotency-Key": "matrix-capture"},
         route="api/payments/qr-redemptions/<uuid:redemption_id>/capture"),
    Case("redemption void", "POST", API_REDEMPTION + "/void", DEALER_API, make_object=_qr_redemption,
         headers={"Idempotency-Key": "matrix-void"}, route="api/payments/qr-redemptions/<uuid:redemption_id>/void"),
    Case("redemption refund", "POST", API_REDEMPTION + "/refund", DEALER_API | {"dealer": 409},
         body={"amount": 500}, make_object=_qr_redemption, headers={"Idempotency-Key": "matrix-refund"},
         route="api/payments/qr-redemptions/<uuid:redemption_id>/refund"),
    Case("sandbox webhook", "POST", "/api/payments/checkout/webhooks/sandbox",
         {"anonymous": 400, "customer": 400, "dealer": 400, "back_office": 400}, body={"id": "evt"},
         route="api/payments/checkout/webhooks/sandbox"),
]  # fmt: skip

CUSTOMER_API = {"anonymous": 401, "customer": 200, "dealer": 403, "back_office": 403}
# The object belongs to another user, so the customer is told it does not exist.
CUSTOMER_API_OBJECT = {"anonymous": 401, "customer": 404, "dealer": 403, "back_office": 403}

MATRIX += [
    Case("customer API products", "GET", "/api/payments/customer/products", CUSTOMER_API,
         route="api/payments/customer/products"),
    Case("customer API codes", "GET", "/api/payments/customer/codes", CUSTOMER_API,
         route="api/payments/customer/codes"),
    Case("customer API code", "GET", "/api/payments/customer/codes/{object}", CUSTOMER_API_OBJECT,
         make_object=_qr_code, route="api/payments/customer/codes/<uuid:code_id>"),
    Case("customer API code history", "GET", "/api/payments/customer/codes/{object}/history", CUSTOMER_API_OBJECT,
         make_object=_qr_code, route="api/payments/customer/codes/<uuid:code_id>/history"),
    Case("customer API order create", "POST", "/api/payments/customer/orders",
         {"anonymous": 401, "customer": 422, "dealer": 403, "back_office": 403}, body={},
         route="api/payments/customer/orders"),
    Case("customer API order", "GET", "/api/payments/customer/orders/{object}", CUSTOMER_API_OBJECT,
         make_object=_qr_order, route="api/payments/customer/orders/<uuid:order_id>"),
]  # fmt: skip
