from django.urls import path

from payments.views import ledger

app_name = "payments"

urlpatterns = [
    path("ledger/accounts/", ledger.account_list_view, name="ledger-account-list"),
    path("ledger/accounts/<int:account_id>/", ledger.account_statement_view, name="ledger-account-statement"),
    path("ledger/transfers/", ledger.transfer_search_view, name="ledger-transfer-search"),
    path("ledger/reconciliation/", ledger.reconciliation_view, name="ledger-reconciliation"),
]

# Settlement (back office).
from payments.views import settlement  # noqa: E402

urlpatterns += [
    path("settlement/batches/", settlement.settlement_batch_list_view, name="settlement-batch-list"),
    path("settlement/batches/<int:batch_id>/", settlement.settlement_batch_detail_view, name="settlement-batch-detail"),
]
