"""OpenID4VCI endpoints at the site root: metadata under ``/.well-known/``, the OAuth and credential endpoints under
``/openid4vci/``, and SD-JWT VC type metadata at each ``vct`` (``/credentials/types/<name>``)."""

from django.urls import path

from identity.openid4vci import views

app_name = "openid4vci"

urlpatterns = [
    path(
        ".well-known/openid-credential-issuer",
        views.credential_issuer_metadata_view,
        name="credential-issuer-metadata",
    ),
    path(
        ".well-known/oauth-authorization-server",
        views.authorization_server_metadata_view,
        name="authorization-server-metadata",
    ),
    path("openid4vci/authorize", views.authorize_view, name="authorize"),
    path("openid4vci/token", views.token_view, name="token"),
    path("openid4vci/nonce", views.nonce_view, name="nonce"),
    path("openid4vci/credential", views.credential_view, name="credential"),
    path("credentials/types/<slug:type_name>", views.type_metadata_view, name="type-metadata"),
]
