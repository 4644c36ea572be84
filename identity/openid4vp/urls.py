"""OpenID4VP verifier endpoints at the site root: ``/openid4vp/request/<id>`` (request_uri) and
``/openid4vp/response/<id>`` (response_uri)."""

from django.urls import path

from identity.openid4vp import views

app_name = "openid4vp"

urlpatterns = [
    path("openid4vp/request/<uuid:public_id>", views.request_object_view, name="request-object"),
    path("openid4vp/response/<uuid:public_id>", views.response_view, name="response"),
]
