"""Liveness and readiness probes.

Readiness needs the database and the broker: without either a web host cannot serve. The Tangle node, when
configured, is reported but does not take the host out of the balancer: anchoring runs after commit through the
outbox and catches up when the node is back, and one node outage would otherwise take every web host out at once.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS, connect_timeout=2
    ) as broker:
        broker.ensure_connection(max_retries=1, timeout=2)


def _check_tangle() -> None:
    url = settings.TANGLE_NODE_URL.rstrip("/") + "/api/core/v2/info"
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - operator-configured http(s) node URL
        if response.status != 200:
            raise ConnectionError(f"node answered {response.status}")


def _run(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"; the type is reported, not raised
        return {"status": "down", "error": type(error).__name__}
    return {"status": "up", "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "up"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    required: dict[str, Callable[[], None]] = {"database": _check_database, "broker": _check_broker}
    results = {name: _run(check) for name, check in required.items()}
    is_ready = all(result["status"] == "up" for result in results.values())
    status = "up" if is_ready else "down"
    if settings.TANGLE_NODE_URL:
        results["tangle"] = _run(_check_tangle)
        if is_ready and results["tangle"]["status"] != "up":
            status = "degraded"  # serving, while anchoring waits for the node
    return JsonResponse({"status": status, "checks": results}, status=200 if is_ready else 503)
