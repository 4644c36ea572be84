from django.urls import path

from payments.api import ledger

app_name = "payments-api"

urlpatterns = [
    path("accounts", ledger.AccountListApi.as_view(), name="ledger-account-list"),
    path("accounts/<int:account_id>/statement", ledger.AccountStatementApi.as_view(), name="ledger-account-statement"),
    path("transfers", ledger.TransferBatchCreateApi.as_view(), name="ledger-transfer-create"),
    path("transfers/search", ledger.TransferSearchApi.as_view(), name="ledger-transfer-search"),
    path("reconciliation", ledger.ReconciliationApi.as_view(), name="ledger-reconciliation"),
]

# Settlement (back office).
from payments.api import settlement  # noqa: E402

urlpatterns += [
    path("settlement/batches", settlement.SettlementBatchListApi.as_view(), name="settlement-batch-list"),
    path(
        "settlement/batches/<int:batch_id>",
        settlement.SettlementBatchDetailApi.as_view(),
        name="settlement-batch-detail",
    ),
    path("settlement/backlog", settlement.SettlementBacklogApi.as_view(), name="settlement-backlog"),
]
