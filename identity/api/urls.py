"""VC-API and public identity documents, mounted at the site root (``/credentials/...``, ``/presentations/...``,
``/.well-known/did.json``, ``/dealers/<slug>/did.json``) plus the wallet's endpoint under ``/api/identity/``."""

from django.urls import path

from identity.api import views

app_name = "identity-api"

urlpatterns = [
    path("credentials/issue", views.CredentialIssueApi.as_view(), name="credential-issue"),
    path("credentials/verify", views.CredentialVerifyApi.as_view(), name="credential-verify"),
    path("credentials/status", views.CredentialStatusUpdateApi.as_view(), name="credential-status-update"),
    path("credentials/status/<str:list_id>", views.StatusListApi.as_view(), name="status-list"),
    path("credentials/status/<str:list_id>/publish", views.StatusListPublishApi.as_view(), name="status-list-publish"),
    path("credentials/token-status/<str:list_id>", views.status_list_token_view, name="status-list-token"),
    path("credentials/anchors/<str:leaf_hash>", views.AnchorProofApi.as_view(), name="anchor-proof"),
    path("presentations/verify", views.PresentationVerifyApi.as_view(), name="presentation-verify"),
    path(".well-known/did.json", views.PortalDidDocumentApi.as_view(), name="portal-did"),
    path("dealers/<slug:slug>/did.json", views.DealerDidDocumentApi.as_view(), name="dealer-did"),
    path("api/identity/wallet/credentials", views.WalletCredentialRequestApi.as_view(), name="wallet-credential"),
]
