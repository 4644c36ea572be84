"""The dealer credit-check API and the wallet's payment-history endpoint, at the paths dealers' systems and wallets
already use (``/api/identity/credit-checks...``)."""

from django.urls import path

from credit_checks import api

app_name = "credit_checks-api"

urlpatterns = [
    path("api/identity/credit-checks", api.CreditCheckCreateApi.as_view(), name="credit-check-create"),
    path(
        "api/identity/credit-checks/webhook",
        api.CreditCheckWebhookSetApi.as_view(),
        name="credit-check-webhook",
    ),
    path(
        "api/identity/credit-checks/payment-history",
        api.PaymentHistoryCredentialIssueApi.as_view(),
        name="payment-history-credential",
    ),
    path(
        "api/identity/credit-checks/<uuid:public_id>",
        api.CreditCheckDetailApi.as_view(),
        name="credit-check-detail",
    ),
]
