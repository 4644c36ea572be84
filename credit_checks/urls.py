"""Credit-check pages, mounted under ``/identity/`` where they have always been (links already sent to customers
keep working)."""

from django.urls import path

from credit_checks import views

app_name = "credit_checks"

urlpatterns = [
    path("credit-checks/", views.credit_check_list_view, name="credit-check-list"),
    path("credit-checks/<int:request_id>/", views.credit_check_detail_view, name="credit-check-detail"),
    path("credit-checks/<int:request_id>/status.json", views.credit_check_status_view, name="credit-check-status"),
    path("credit-checks/policy/", views.credit_policy_view, name="credit-policy"),
    path(
        "credit-checks/respond/<str:link_token>/",
        views.credit_check_respond_view,
        name="credit-check-respond",
    ),
    path("credit-checks/mine/<int:request_id>/", views.credit_check_mine_view, name="credit-check-mine"),
    path(
        "credit-checks/mine/<int:request_id>/receipt.json",
        views.consent_receipt_download_view,
        name="consent-receipt",
    ),
    path("credit-checks/payment-history/", views.payment_history_view, name="payment-history"),
    path("credit-checks/reviews/", views.credit_check_review_list_view, name="credit-check-review-list"),
    path(
        "credit-checks/reviews/<int:verdict_id>/",
        views.credit_check_review_view,
        name="credit-check-review",
    ),
]
