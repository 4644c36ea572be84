from django.urls import path

from identity import views
from identity.openid4vci import views as openid4vci_views

app_name = "identity"

urlpatterns = [
    path("wallet/", views.wallet_view, name="wallet"),
    path("wallet/credential-offer/", openid4vci_views.credential_offer_view, name="credential-offer"),
    path("issuers/", views.issuer_list_view, name="issuer-list"),
    path("issuers/<int:issuer_id>/", views.issuer_detail_view, name="issuer-detail"),
    path("keys/", views.keys_view, name="keys"),
    path("credentials/", views.credentials_view, name="credentials"),
]

from identity import views_credit_checks  # noqa: E402 - credit-check pages

urlpatterns += [
    path("credit-checks/", views_credit_checks.credit_check_list_view, name="credit-check-list"),
    path("credit-checks/<int:request_id>/", views_credit_checks.credit_check_detail_view, name="credit-check-detail"),
    path("credit-checks/policy/", views_credit_checks.credit_policy_view, name="credit-policy"),
    path(
        "credit-checks/respond/<str:link_token>/",
        views_credit_checks.credit_check_respond_view,
        name="credit-check-respond",
    ),
    path("credit-checks/mine/<int:request_id>/", views_credit_checks.credit_check_mine_view, name="credit-check-mine"),
    path(
        "credit-checks/mine/<int:request_id>/receipt.json",
        views_credit_checks.consent_receipt_download_view,
        name="consent-receipt",
    ),
    path("credit-checks/payment-history/", views_credit_checks.payment_history_view, name="payment-history"),
    path("credit-checks/reviews/", views_credit_checks.credit_check_review_list_view, name="credit-check-review-list"),
    path(
        "credit-checks/reviews/<int:verdict_id>/",
        views_credit_checks.credit_check_review_view,
        name="credit-check-review",
    ),
]
