from django.urls import path

from identity import views
from identity.openid4vci import views as openid4vci_views

app_name = "identity"

urlpatterns = [
    path("wallet/", views.wallet_view, name="wallet"),
    # where the verifier's browser-wallet link lands (identity.openid4vp.verifier.BROWSER_WALLET_PATH): the same page
    path("wallet/openid4vp/", views.wallet_view, name="wallet-openid4vp"),
    path("wallet/credential-offer/", openid4vci_views.credential_offer_view, name="credential-offer"),
    path("issuers/", views.issuer_list_view, name="issuer-list"),
    path("issuers/<int:issuer_id>/", views.issuer_detail_view, name="issuer-detail"),
    path("trust-anchors/", views.trust_anchor_list_view, name="trust-anchor-list"),
    path("trust-anchors/<int:anchor_id>/suspend/", views.trust_anchor_suspend_view, name="trust-anchor-suspend"),
    path(
        "trust-anchors/<int:anchor_id>/reactivate/", views.trust_anchor_reactivate_view, name="trust-anchor-reactivate"
    ),
    path("keys/", views.keys_view, name="keys"),
    path("credentials/", views.credentials_view, name="credentials"),
]
