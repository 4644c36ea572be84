"""ASGI entry point: HTTP through Django's WSGI handler, websockets through Channels routes collected from the apps.

HTTP requests reach Django through a2wsgi's bridge, which runs Django's WSGI handler in a thread of this process
(`HTTP_THREADS`), rather than through Django's ASGI handler. The portal has no asynchronous views, and Django's ASGI
handler runs every synchronous one in a single thread of the process anyway, so what a request does is the same;
what it costs is not: Django's handler adds a task listening for disconnects, two hops to that thread (the view, then
closing the response) and the contextvars copies of each, where the bridge makes one hop and hands the response back
in chunks. bench/serving.py measured both in one run on one machine (docs/benchmarks.md, "Serving"): with 3
processes each, 1.8 times the bare authenticated requests and 1.15 times the redemptions a second with the bridge, and
websocket round trips no longer.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
django_wsgi_app = get_wsgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import get_resolver, re_path  # noqa: E402

from core.runtime import runtime_tune  # noqa: E402
from core.serving import protocol_cycles_release  # noqa: E402
from machines.ocpp.central_system import schema_validators_compile  # noqa: E402
from portal.celery import app as celery_app  # noqa: E402
from portal.routing import station_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

# One request at a time per process, as Django's ASGI handler ran synchronous views: more threads made the
# websockets' round trips longer (they share the process's interpreter lock) for no more redemptions a second
# (bench/serving.py); a server has several processes (core.serving.web_workers).
HTTP_THREADS = 1

application = ProtocolTypeRouter(
    {
        "http": WSGIMiddleware(django_wsgi_app, workers=HTTP_THREADS),
        "websocket": URLRouter(
            [
                *station_websocket_urlpatterns,
                re_path(r"", AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
            ]
        ),
    }
)

protocol_cycles_release()

# Every view, serializer and form module is imported now rather than by the first request, so that it is part of the
# start-up heap frozen below: imported later, its objects (tens of thousands: URL patterns, serializers' fields, the
# holiday calendars, the direct-debit schemas) outlived middle collections into the oldest generation, which the
# reclaim after a wave of disconnects walks (core/runtime.py).
get_resolver().url_patterns  # noqa: B018 - the property imports the URLconf and every module it names

# The same for what the first station messages and the first task sent would do: compile the OCPP schema validators
# (26 of them, about 130 ms, which a restart storm's first messages waited for on the event loop) and import every
# app's tasks and Celery's sending side, including the broker's transport (no connection is made). Made later, they
# too outlived the stations' objects among them.
schema_validators_compile()
celery_app.loader.import_default_modules()
with celery_app.connection_for_write() as broker:
    broker.transport  # noqa: B018 - the property imports and makes the transport; it connects nothing

# Start-up is over: what it made is frozen out of the collector's way, and its thresholds set for a server process.
runtime_tune()
