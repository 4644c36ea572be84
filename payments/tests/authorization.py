"""Authorization matrix of the payments pages and endpoints (ledger, settlement; QR codes append theirs)."""

from __future__ import annotations

import uuid

from django.db import transaction

from payments.ledger.services import account_create, transfers_create
from payments.ledger.types import TransferFlags, TransferSpec
from payments.models import AccountCode
from payments.settlement.services import settlement_batch_run, settlement_request
from portal.authorization import Case

BACK_OFFICE_PAGE = {"anonymous": 302, "customer": 403, "dealer": 403, "back_office": 200}
BACK_OFFICE_API = {"anonymous": 401, "customer": 403, "dealer": 403, "back_office": 200}


def _account(owner) -> int:
    return account_create(ledger="EUR", code=AccountCode.CLEARING, owner_reference="matrix:1").pk


def _settlement_batch(owner) -> int:
    bank = account_create(ledger="EUR", code=AccountCode.BANK, owner_reference="matrix:bank")
    payable = account_create(ledger="EUR", code=AccountCode.MERCHANT_PAYABLE, owner_reference="matrix:dealer")
    pending_id = uuid.uuid4()
    with transaction.atomic():
        transfers_create(
            transfers=[
                TransferSpec(
                    id=pending_id,
                    debit_account_id=bank.pk,
                    credit_account_id=payable.pk,
                    amount=1500,
                    ledger="EUR",
                    code=2,
                    flags=TransferFlags.PENDING,
                )
            ]
        )
        message = settlement_request(pending_transfer_id=pending_id)
    settlement_batch_run(outbox_message_id=message.pk)
    from payments.models import SettlementBatch

    return SettlementBatch.objects.get().pk


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
