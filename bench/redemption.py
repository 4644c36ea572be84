"""Benchmark of the QR redemption API over HTTP, with a bare DRF endpoint on the same server as the baseline.

Run by `make bench` (bench/__main__.py) with `DJANGO_SETTINGS_MODULE=bench.settings` on a fresh, migrated PostgreSQL
database. It starts uvicorn on 127.0.0.1 (the portal's ASGI application, `WORKERS` processes) whose URLconf is this
module: the portal's routes plus `POST /bench/bare`, a DRF view with the same authentication (dealer API token) and
permission that parses the same JSON body and returns a constant. Then `CLIENTS` concurrent keep-alive clients send
`REQUESTS` requests to each endpoint (after a warm-up). Each client is its own dealer redeeming its own code, as at
real dealerships; every redemption is a real authorization (pending ledger transfer) with its own Idempotency-Key.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CLIENTS = 32
WORKERS = 3
REQUESTS = 4_000
WARMUP_REQUESTS = 320
TIME_LIMIT_SECONDS = 60.0
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


def bench_asgi_application() -> object:
    """uvicorn `--factory` entry point: the portal's ASGI application with this module as URLconf."""
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.redemption"
    from portal.asgi import application

    return application


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[98]


def run() -> str:
    """Measures both endpoints in the same server run; returns the markdown section for docs/benchmarks.md."""
    clients = _clients_create()
    port = _free_port()
    with _server(port=port):
        for name in ("bare", "redeem"):
            _load(port=port, clients=clients, endpoint=name, total=WARMUP_REQUESTS)
        bare = _load(port=port, clients=clients, endpoint="bare", total=REQUESTS)
        redeem = _load(port=port, clients=clients, endpoint="redeem", total=REQUESTS)
    return _report(bare=bare, redeem=redeem)


@dataclass(frozen=True)
class BenchClient:
    api_token: str
    code_token: str


def _clients_create() -> list[BenchClient]:
    """One dealer (with an API token) and one funded code per client, made through the services."""
    from accounts.roles import Role
    from accounts.services import api_token_create, dealer_organisation_create, user_create
    from payments.checkout.services import checkout_order_create, checkout_order_pay
    from payments.models import CheckoutProvider
    from payments.qr.accounts import card_acquirer_account
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
        order = checkout_order_pay(order_id=order.pk, funding_account=card_acquirer_account(currency="EUR"))
        clients.append(BenchClient(api_token=raw_token, code_token=qr_code_view(code=order.code).token))
    return clients


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _server:
    """uvicorn as a child process on loopback, stopped (by its own pid) on exit."""

    def __init__(self, *, port: int) -> None:
        self.port = port

    def __enter__(self) -> _server:
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "bench.redemption:bench_asgi_application",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(WORKERS), "--no-access-log",
            "--log-level", "warning", "--lifespan", "off",
        ]  # fmt: skip
        self.log = LOG_PATH.open("ab")
        # Under ASGI every request runs in a fresh thread: persistent connections would pile up per thread.
        environment = os.environ | {"DATABASE_CONN_MAX_AGE": "0"}
        self.process = subprocess.Popen(command, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"uvicorn did not start within 60 s; see {LOG_PATH}")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _load(*, port: int, clients: list[BenchClient], endpoint: str, total: int) -> LoadResult:
    """`total` requests spread over the clients, each on its own keep-alive connection; bounded by the time limit."""
    per_client = total // len(clients)
    latencies: list[list[float]] = [[] for _ in clients]
    errors = [0] * len(clients)
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    start = threading.Barrier(len(clients) + 1)

    def work(index: int) -> None:
        client = clients[index]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = json.dumps({"token": client.code_token, "amount": AMOUNT, "currency": "EUR"})
        headers = {"Authorization": f"Bearer {client.api_token}", "Content-Type": "application/json"}
        path_ = "/bench/bare" if endpoint == "bare" else "/api/payments/qr-redemptions"
        start.wait()
        for _ in range(per_client):
            if time.monotonic() > deadline:
                break
            began = time.perf_counter()
            connection.request("POST", path_, body=body, headers=headers | {"Idempotency-Key": uuid.uuid4().hex})
            response = connection.getresponse()
            response.read()
            latencies[index].append((time.perf_counter() - began) * 1000)
            errors[index] += response.status != 201
        connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    flat = [value for values in latencies for value in values]
    return LoadResult(requests=len(flat), seconds=seconds, latencies_ms=flat, errors=sum(errors))


def _report(*, bare: LoadResult, redeem: LoadResult) -> str:
    ratio = redeem.per_second / bare.per_second
    ratio_pass = "pass" if ratio >= TARGET_RATIO and redeem.errors == 0 else "FAIL"
    p99_pass = "pass" if redeem.p99_ms < TARGET_P99_MS and redeem.errors == 0 else "FAIL"
    return "\n".join(
        [
            "## QR redemption API over HTTP",
            "",
            f"uvicorn ({WORKERS} worker processes) on 127.0.0.1 serving the portal's ASGI application; {CLIENTS} "
            "concurrent keep-alive clients (threads of the benchmark process, on the same machine), each a dealer "
            "with its own API token redeeming its own code. Every redemption verifies the Ed25519 token, locks the "
            "code, creates a pending ledger transfer and stores the Idempotency-Key.",
            "",
            "| measure | requests | errors | requests/s | p50 | p99 | target | result |",
            "|---|---|---|---|---|---|---|---|",
            f"| bare DRF endpoint (baseline) | {bare.requests:,} | {bare.errors} | {bare.per_second:,.0f} | "
            f"{statistics.median(bare.latencies_ms):.1f} ms | {bare.p99_ms:.1f} ms | | |",
            f"| `POST /api/payments/qr-redemptions` | {redeem.requests:,} | {redeem.errors} | "
            f"{redeem.per_second:,.0f} | {statistics.median(redeem.latencies_ms):.1f} ms | {redeem.p99_ms:.1f} ms | "
            f"p99 < {TARGET_P99_MS:.0f} ms | {p99_pass} |",
            f"| ratio redemption / baseline | | | {ratio:.0%} | | | >= {TARGET_RATIO:.0%} | {ratio_pass} |",
            "",
        ]
    )
