"""Websocket routes of the portal."""

from django.urls import path

from machines.ocpp.consumer import StationConsumer
from portal.consumers import PortalStatusConsumer

websocket_urlpatterns = [
    path("ws/status", PortalStatusConsumer.as_asgi()),
]

# Charging stations (OCPP 1.6J / 2.0.1): not browsers, so they send no Origin header and authenticate with HTTP Basic
# auth per station; portal/asgi.py routes them outside the origin check and the session middleware.
station_websocket_urlpatterns = [
    path("ocpp/<str:station_id>", StationConsumer.as_asgi()),
]
