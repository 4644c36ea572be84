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

# QR payment codes: dealer redemptions and the sandbox acquirer's webhook.
from payments.api import qr  # noqa: E402

urlpatterns += [
    path("qr-redemptions", qr.QrRedemptionCreateApi.as_view(), name="qr-redemption-create"),
    path("qr-redemptions/<uuid:redemption_id>", qr.QrRedemptionDetailApi.as_view(), name="qr-redemption-detail"),
    path(
        "qr-redemptions/<uuid:redemption_id>/capture",
        qr.QrRedemptionCaptureApi.as_view(),
        name="qr-redemption-capture",
    ),
    path("qr-redemptions/<uuid:redemption_id>/void", qr.QrRedemptionVoidApi.as_view(), name="qr-redemption-void"),
    path("qr-redemptions/<uuid:redemption_id>/refund", qr.QrRedemptionRefundApi.as_view(), name="qr-redemption-refund"),
    path("checkout/webhooks/sandbox", qr.SandboxWebhookReceiveApi.as_view(), name="sandbox-webhook"),
]

# The customer's own codes, their history, the catalogue and buying a code (what a phone app shows).
from payments.api import customer  # noqa: E402

urlpatterns += [
    path("customer/products", customer.CustomerProductListApi.as_view(), name="customer-product-list"),
    path("customer/codes", customer.CustomerCodeListApi.as_view(), name="customer-code-list"),
    path("customer/codes/<uuid:code_id>", customer.CustomerCodeDetailApi.as_view(), name="customer-code-detail"),
    path(
        "customer/codes/<uuid:code_id>/history",
        customer.CustomerCodeHistoryApi.as_view(),
        name="customer-code-history",
    ),
    path("customer/orders", customer.CustomerOrderCreateApi.as_view(), name="customer-order-create"),
    path("customer/orders/<uuid:order_id>", customer.CustomerOrderDetailApi.as_view(), name="customer-order-detail"),
]
