from django.urls import path

from accounts.api import views

app_name = "accounts-api"

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("tokens", views.ApiTokenListApi.as_view(), name="api-token-list"),
    path("tokens/new", views.ApiTokenCreateApi.as_view(), name="api-token-create"),
    path("tokens/<int:token_id>", views.ApiTokenRevokeApi.as_view(), name="api-token-revoke"),
]
