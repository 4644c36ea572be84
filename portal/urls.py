from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import health, views

portal_patterns = ([path("", views.home, name="home")], "portal")

urlpatterns = [
    path("", include(portal_patterns)),
    path("accounts/", include("accounts.urls")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("api/accounts/", include("accounts.api.urls")),
    path("payments/", include("payments.urls")),
    path("api/payments/", include("payments.api.urls")),
    path("identity/", include("identity.urls")),
    path("", include("identity.api.urls")),
    path("", include("identity.openid4vci.urls")),
    path("", include("identity.openid4vp.urls")),
    path("identity/", include("credit_checks.urls")),
    path("", include("credit_checks.api_urls")),
    path("leasing/", include("leasing.urls")),
    path("api/leasing/", include("leasing.api.urls")),
    path("machines/", include("machines.urls")),
    path("api/machines/", include("machines.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "core.api.handler400"
handler403 = "core.api.handler403"
handler404 = "core.api.handler404"
handler500 = "core.api.handler500"
