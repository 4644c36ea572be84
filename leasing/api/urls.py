from django.urls import path

from leasing.api import views

app_name = "leasing-api"

urlpatterns = [
    path("products", views.ProductListApi.as_view(), name="product-list"),
    path("quotes", views.QuoteCreateApi.as_view(), name="quote-create"),
    path("contracts", views.ContractListApi.as_view(), name="contract-list"),
    path("contracts/<int:contract_id>", views.ContractDetailApi.as_view(), name="contract-detail"),
    path(
        "applications/<int:application_id>/credit-verdict",
        views.ApplicationCreditVerdictApi.as_view(),
        name="application-credit-verdict",
    ),
    path(
        "applications/<int:application_id>/approve", views.ApplicationApproveApi.as_view(), name="application-approve"
    ),
]
