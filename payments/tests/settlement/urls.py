"""The portal's URLs, plus the payments routes if the project does not include them yet."""

from django.urls import include, path

from portal.urls import handler400, handler403, handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns

_namespaces = {getattr(pattern, "namespace", None) for pattern in portal_urlpatterns}

urlpatterns = list(portal_urlpatterns)
if "payments" not in _namespaces:
    urlpatterns.append(path("payments/", include("payments.urls")))
if "payments-api" not in _namespaces:
    urlpatterns.append(path("api/payments/", include("payments.api.urls")))
