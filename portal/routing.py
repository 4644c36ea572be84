"""Websocket routes of the portal."""

from django.urls import path

from portal.consumers import PortalStatusConsumer

websocket_urlpatterns = [
    path("ws/status", PortalStatusConsumer.as_asgi()),
]
