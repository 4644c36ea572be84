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

# QR payment codes: shop and checkout, my codes, invoices, dealer redemption, statements, bank statement import.
from payments.views import qr, qr_staff  # noqa: E402

urlpatterns += [
    path("qr/shop/", qr.qr_product_list_view, name="qr-product-list"),
    path("qr/shop/<slug:slug>/", qr.qr_product_order_view, name="qr-product-order"),
    path("qr/orders/<uuid:order_id>/", qr.qr_order_detail_view, name="qr-order-detail"),
    path("checkout/sandbox/<uuid:order_id>/", qr.sandbox_card_pay_view, name="sandbox-card-pay"),
    path("checkout/sandbox/<uuid:order_id>/challenge/", qr.sandbox_card_challenge_view, name="sandbox-card-challenge"),
    path("qr/codes/", qr.qr_code_list_view, name="qr-code-list"),
    path("qr/codes/<uuid:code_id>/", qr.qr_code_detail_view, name="qr-code-detail"),
    path("qr/codes/<uuid:code_id>/print/", qr.qr_code_print_view, name="qr-code-print"),
    path("qr/codes/<uuid:code_id>/qr.png", qr.qr_code_png_view, name="qr-code-png"),
    path("qr/codes/<uuid:code_id>/qr.svg", qr.qr_code_svg_view, name="qr-code-svg"),
    path("qr/codes/<uuid:code_id>/block/", qr.qr_code_block_view, name="qr-code-block"),
    path("qr/statement/", qr.qr_statement_view, name="qr-statement"),
    path("qr/statement.csv", qr.qr_statement_csv_view, name="qr-statement-csv"),
    path("qr/invoices/", qr.qr_invoice_open_view, name="qr-invoice-open"),
    path("qr/invoices/<str:reference>/", qr.qr_invoice_pay_view, name="qr-invoice-pay"),
    path("qr/dealer/redeem/", qr_staff.qr_dealer_redeem_view, name="qr-dealer-redeem"),
    path("qr/dealer/redemptions/", qr_staff.qr_dealer_redemption_list_view, name="qr-dealer-redemption-list"),
    path(
        "qr/dealer/redemptions/<uuid:redemption_id>/",
        qr_staff.qr_dealer_redemption_detail_view,
        name="qr-dealer-redemption-detail",
    ),
    path(
        "qr/dealer/redemptions/<uuid:redemption_id>/capture/",
        qr_staff.qr_dealer_redemption_capture_view,
        name="qr-dealer-redemption-capture",
    ),
    path(
        "qr/dealer/redemptions/<uuid:redemption_id>/void/",
        qr_staff.qr_dealer_redemption_void_view,
        name="qr-dealer-redemption-void",
    ),
    path(
        "qr/dealer/redemptions/<uuid:redemption_id>/refund/",
        qr_staff.qr_dealer_redemption_refund_view,
        name="qr-dealer-redemption-refund",
    ),
    path("qr/dealer/invoices/", qr_staff.qr_dealer_invoice_list_view, name="qr-dealer-invoice-list"),
    path(
        "qr/dealer/invoices/<uuid:invoice_id>/", qr_staff.qr_dealer_invoice_detail_view, name="qr-dealer-invoice-detail"
    ),
    path("qr/dealer/statement/", qr_staff.qr_dealer_statement_view, name="qr-dealer-statement"),
    path("qr/dealer/statement.csv", qr_staff.qr_dealer_statement_csv_view, name="qr-dealer-statement-csv"),
    path("qr/back-office/statement/", qr_staff.qr_back_office_statement_view, name="qr-back-office-statement"),
    path(
        "qr/back-office/statement.csv", qr_staff.qr_back_office_statement_csv_view, name="qr-back-office-statement-csv"
    ),
    path("qr/back-office/bank-statements/", qr_staff.qr_bank_statement_import_view, name="qr-bank-statement-import"),
    path("qr/back-office/review/", qr_staff.qr_bank_review_queue_view, name="qr-bank-review-queue"),
    path(
        "qr/back-office/review/<int:entry_id>/resolve/",
        qr_staff.qr_bank_review_resolve_view,
        name="qr-bank-review-resolve",
    ),
]
