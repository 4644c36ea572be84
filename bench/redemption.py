"""Benchmark of the QR redemption API over HTTP, with a bare DRF endpoint on the same server as the baseline.

Run by `make bench` (bench/__main__.py) with `DJANGO_SETTINGS_MODULE=bench.settings` on a fresh, migrated PostgreSQL
database. It starts uvicorn on 127.0.0.1 (the portal's ASGI application, `WORKERS` processes) whose URLconf is this
module: the portal's routes plus `POST /bench/bare`, a DRF view with the same authentication (dealer API token) and
permission that parses the same JSON body and returns a constant. Then wrk (bench/redemption.lua) keeps `CLIENTS`
keep-alive connections busy against each endpoint for `SECONDS` (after a warm-up): each connection sends its next
request as soon as the answer to the last one arrives. Each client is its own dealer redeeming its own code, as at
real dealerships; every redemption is a real authorization (pending ledger transfer) with its own Idempotency-Key.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.servers import free_port, served
from core.serving import web_server_command

CLIENTS = 32
WORKERS = 3
SECONDS = 20
WARMUP_SECONDS = 5
SINGLE_CLIENT_SECONDS = 10
AMOUNT = 100  # minor units per redemption
TARGET_RATIO = 0.25
TARGET_P99_MS = 100.0
LOG_PATH = Path("/tmp/finlab-bench-redemption-server.log")  # noqa: S108 - a log for whoever investigates a slow run


def _bench_urlpatterns() -> list:
    """The portal's routes plus the bare baseline endpoint; built on first use, after Django is set up."""
    from django.urls import include, path
    from rest_framework import serializers
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from accounts.permissions import IsDealer

    class BareApi(APIView):
        """The baseline: DRF with the same authentication, permission and body parsing, and no business work."""

        permission_classes = [IsDealer]

        class InputSerializer(serializers.Serializer):
            token = serializers.CharField(max_length=400)
            amount = serializers.IntegerField(min_value=1)
            currency = serializers.CharField(max_length=3)

        def post(self, request: Request) -> Response:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return Response({"status": "ok"}, status=201)

    return [path("bench/bare", BareApi.as_view()), path("", include("portal.urls"))]


_URLPATTERNS: list = []


def __getattr__(name: str) -> object:
    """`urlpatterns` for Django's URL resolver when this module is the URLconf (only in the benchmark's server)."""
    if name == "urlpatterns":
        if not _URLPATTERNS:
            _URLPATTERNS.extend(_bench_urlpatterns())
        return _URLPATTERNS
    raise AttributeError(name)


def bench_wsgi_application() -> object:
    """The WSGI form of `bench_asgi_application`, for servers that speak only WSGI (compared in bench/serving.py)."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.redemption"
    from portal.wsgi import application

    return application


def bench_asgi_application() -> object:
    """uvicorn `--factory` entry point: the portal's ASGI application with this module as URLconf."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.redemption"
    from portal.asgi import application

    return application


def bench_django_asgi_application() -> object:
    """`bench_asgi_application` with HTTP through Django's own ASGI handler instead of the WSGI bridge (portal/asgi.py),
    for bench/serving.py's comparison."""
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    application = bench_asgi_application()
    assert isinstance(application, ProtocolTypeRouter)
    return ProtocolTypeRouter({**application.application_mapping, "http": get_asgi_application()})


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured (bench/redemption.lua): latencies from its histogram, in milliseconds."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    not_created: int
    socket_errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.not_created + self.socket_errors


def run() -> str:
    """Measures both endpoints in the same server run; returns the markdown section for docs/benchmarks.md."""
    clients = _clients_create()
    port = _free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".clients", delete=False) as clients_file:
        clients_file.write("".join(f"{client.api_token} {client.code_token}\n" for client in clients))
    load = functools.partial(_load, port=port, clients_file=Path(clients_file.name))
    try:
        with _server(port=port):
            for name in ("bare", "redeem"):
                load(endpoint=name, clients=CLIENTS, seconds=WARMUP_SECONDS)
            results = {
                "bare": load(endpoint="bare", clients=CLIENTS, seconds=SECONDS),
                "redeem": load(endpoint="redeem", clients=CLIENTS, seconds=SECONDS),
                "bare_single": load(endpoint="bare", clients=1, seconds=SINGLE_CLIENT_SECONDS),
                "redeem_single": load(endpoint="redeem", clients=1, seconds=SINGLE_CLIENT_SECONDS),
            }
    finally:
        os.unlink(clients_file.name)
    return _report(**results)


@dataclass(frozen=True)
class BenchClient:
    api_token: str
    code_token: str


def _clients_create() -> list[BenchClient]:
    """One dealer (with an API token) and one funded code per client, made through the services."""
    from accounts.roles import Role
    from accounts.services import api_token_create, dealer_organisation_create, user_create
    from payments.checkout.services import checkout_order_create, checkout_order_pay
    from payments.ledger.client import house_account_get_or_open
    from payments.ledger.registry import Purpose
    from payments.models import CheckoutProvider
    from payments.qr.selectors import qr_code_view
    from payments.qr.services import qr_product_create

    run_id = uuid.uuid4().hex[:8]
    product = qr_product_create(slug=f"bench-{run_id}", name="Bench credit", min_amount=1, max_amount=10**9)
    customer = user_create(email=f"bench-customer-{run_id}@example.test", password=None, role=Role.CUSTOMER)
    clients = []
    for index in range(CLIENTS):
        organisation = dealer_organisation_create(name=f"Bench dealer {index}", slug=f"bench-{run_id}-{index}")
        dealer = user_create(
            email=f"bench-dealer-{run_id}-{index}@example.test", password=None, role=Role.DEALER,
            dealer_organisation=organisation,
        )  # fmt: skip
        _, raw_token = api_token_create(user=dealer, name="bench")
        order, _ = checkout_order_create(
            customer=customer, product=product, amount=10**8, provider=CheckoutProvider.CARD_SANDBOX
        )
        order = checkout_order_pay(
            order_id=order.pk,
            funding_account=house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
        )
        clients.append(BenchClient(api_token=raw_token, code_token=qr_code_view(code=order.code).token))
    return clients


def _free_port() -> int:
    return free_port()


def _server(*, port: int, workers: int = WORKERS) -> contextlib.AbstractContextManager[object]:
    """The portal with this module's URLconf, served as `core.serving` serves it, on loopback."""
    command = web_server_command(
        host="127.0.0.1", port=port, workers=workers, application="bench.redemption:bench_asgi_application",
        factory=True,
    )  # fmt: skip
    return served(command, port=port, log_path=LOG_PATH)


def _load(*, port: int, clients_file: Path, endpoint: str, clients: int, seconds: float) -> LoadResult:
    """wrk with one connection (and thread) per client for `seconds`; every request a fresh Idempotency-Key."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed; `make bench` installs it (scripts/bench-prerequisites)")
    path_ = "/bench/bare" if endpoint == "bare" else "/api/payments/qr-redemptions"
    command = [
        "wrk", "--threads", str(clients), "--connections", str(clients), "--duration", f"{seconds:.0f}s",
        "--timeout", "30s", "--script", str(Path(__file__).with_name("redemption.lua")),
        f"http://127.0.0.1:{port}{path_}", "--", str(clients_file), path_, str(AMOUNT), uuid.uuid4().hex[:12],
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return LoadResult(**json.loads(output.strip().splitlines()[-1]))


def _report(*, bare: LoadResult, redeem: LoadResult, bare_single: LoadResult, redeem_single: LoadResult) -> str:
    ratio = redeem.per_second / bare.per_second
    ratio_pass = "pass" if ratio >= TARGET_RATIO and redeem.errors == 0 else "FAIL"
    p99_pass = "pass" if redeem.p99_ms < TARGET_P99_MS and redeem.errors == 0 else "FAIL"
    # In a closed loop every client waits for its answer before it asks again, so the mean latency is the number of
    # clients over the throughput (Little's law); a p99 under the target needs at least this many requests a second.
    needed = CLIENTS / (TARGET_P99_MS / 1000)

    def row(name: str, result: LoadResult, target: str = "", verdict: str = "") -> str:
        return (
            f"| {name} | {result.requests:,} | {result.errors} | {result.per_second:,.0f} | {result.p50_ms:.1f} ms | "
            f"{result.p99_ms:.1f} ms | {target} | {verdict} |"
        )

    return "\n".join(
        [
            "## QR redemption API over HTTP",
            "",
            f"uvicorn ({WORKERS} worker processes) on 127.0.0.1 serving the portal's ASGI application. wrk "
            f"(`bench/redemption.lua`, on the same machine) holds {CLIENTS} keep-alive connections, each a dealer with "
            "its own API token redeeming its own code, and sends each connection's next request as soon as its "
            f"answer arrives, for {SECONDS} s per endpoint after a warm-up. Every redemption verifies the Ed25519 "
            "token, locks the code, creates a pending ledger transfer and stores the Idempotency-Key. The same server "
            "then answers one client at a time, the latency of a request that waits for no other.",
            "",
            "| measure | requests | errors | requests/s | p50 | p99 | target | result |",
            "|---|---|---|---|---|---|---|---|",
            row(f"bare DRF endpoint (baseline), {CLIENTS} clients", bare),
            row(
                f"`POST /api/payments/qr-redemptions`, {CLIENTS} clients",
                redeem,
                f"p99 < {TARGET_P99_MS:.0f} ms",
                p99_pass,
            ),
            f"| ratio redemption / baseline | | | {ratio:.0%} | | | >= {TARGET_RATIO:.0%} | {ratio_pass} |",
            row("bare DRF endpoint, 1 client", bare_single),
            row("`POST /api/payments/qr-redemptions`, 1 client", redeem_single),
            "",
            f"With {CLIENTS} clients that never pause, a p99 under {TARGET_P99_MS:.0f} ms needs at least "
            f"{needed:,.0f} redemptions a second (mean latency = clients / throughput); this machine answers "
            f"{redeem.per_second:,.0f}, and {bare.per_second:,.0f} on the bare endpoint.",
            "",
        ]
    )
