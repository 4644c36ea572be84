"""Latency at a fixed arrival rate: an open-loop generator against the portal served by uvicorn (issue 20, target 3).

For each endpoint the run first measures capacity in a closed loop (`CAPACITY_CLIENTS` clients that each send their
next request as soon as the last one is answered, for `BENCH_OPEN_LOOP_CAPACITY_SECONDS`), then sends requests at
half of that rate for `BENCH_OPEN_LOOP_SECONDS` (60 by default) on a fixed schedule: request i leaves at start + i /
rate whether or not earlier ones were answered, so a slow answer cannot hold back the load (no coordinated omission),
and each latency is counted from the moment its request was due. p50, p99 and p99.9 are reported, and every answer
that is not the expected status (or no answer within `TIMEOUT_SECONDS`) is an error.

Endpoints: `POST /api/payments/qr-redemptions` (dealers with API tokens, each redeeming its own funded code, a
fresh Idempotency-Key per request) and `POST /api/leasing/quotes` (anonymous, the demo mileage lease). The server is
bench/redemption.py's (the portal's ASGI application served as `core.serving` serves it; `BENCH_OPEN_LOOP_WORKERS`
processes, by default `core.serving.web_workers()`). The generator
is one asyncio loop with httpx in this process; on a machine with few cores it competes with the server for CPU,
which the report states.

`python -m bench --only bench.open_loop`.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.serving import web_workers

SECONDS = float(os.environ.get("BENCH_OPEN_LOOP_SECONDS", "60"))
CAPACITY_SECONDS = float(os.environ.get("BENCH_OPEN_LOOP_CAPACITY_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_OPEN_LOOP_WORKERS", "0")) or web_workers()
CAPACITY_CLIENTS = 16
DEALERS = 16
LOAD_SHARE = 0.5
TIMEOUT_SECONDS = 30.0
TARGET_P99_MS = 50.0
QUOTE_BODY = {
    "product_code": "private-mileage-lease",
    "price": 30_000_00,
    "down_payment": 3_000_00,
    "term_months": 36,
    "yearly_km": 15_000,
    "timing": "in_advance",
}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint under load: `request(i)` gives the i-th request's (method, path, headers, body)."""

    name: str
    expect: int
    request: Callable[[int], tuple[str, str, dict[str, str], bytes]]


@dataclass(frozen=True)
class Phase:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    rate: float  # requests sent per second (open loop: the schedule's rate)

    @property
    def answered_per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _endpoints() -> list[Endpoint]:
    """The parties of the run, made through the portal's services, and one request builder per endpoint."""
    from leasing.demo import leasing_demo_data_load

    leasing_demo_data_load()
    dealers = _dealers_with_codes(count=DEALERS)

    def redemption(index: int) -> tuple[str, str, dict[str, str], bytes]:
        api_token, code_token = dealers[index % len(dealers)]
        body = json.dumps({"token": code_token, "amount": 1, "currency": "EUR"}).encode()
        headers = {
            "Authorization": f"Bearer {api_token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        return "POST", "/api/payments/qr-redemptions", headers, body

    quote_body = json.dumps(QUOTE_BODY).encode()

    def quote(index: int) -> tuple[str, str, dict[str, str], bytes]:
        return "POST", "/api/leasing/quotes", {"Content-Type": "application/json"}, quote_body

    return [
        Endpoint("`POST /api/payments/qr-redemptions`", 201, redemption),
        Endpoint("`POST /api/leasing/quotes` (anonymous)", 201, quote),
    ]


def _dealers_with_codes(*, count: int) -> list[tuple[str, str]]:
    from accounts.roles import Role
    from accounts.services import api_token_create, dealer_organisation_create, user_create
    from payments.checkout.services import checkout_order_create, checkout_order_pay
    from payments.ledger.client import house_account_get_or_open
    from payments.ledger.registry import Purpose
    from payments.models import CheckoutProvider
    from payments.qr.selectors import qr_code_view
    from payments.qr.services import qr_product_create

    run_id = uuid.uuid4().hex[:8]
    product = qr_product_create(slug=f"open-{run_id}", name="Open-loop credit", min_amount=1, max_amount=10**9)
    customer = user_create(email=f"open-customer-{run_id}@example.test", password=None, role=Role.CUSTOMER)
    dealers = []
    for index in range(count):
        organisation = dealer_organisation_create(name=f"Open-loop dealer {index}", slug=f"open-{run_id}-{index}")
        dealer = user_create(
            email=f"open-dealer-{run_id}-{index}@example.test", password=None, role=Role.DEALER,
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
        dealers.append((raw_token, qr_code_view(code=order.code).token))
    return dealers


async def _send(client: Any, endpoint: Endpoint, index: int) -> bool:
    method, path, headers, body = endpoint.request(index)
    try:
        response = await client.request(method, path, headers=headers, content=body)
    except Exception:  # noqa: BLE001 - a refused or dropped connection is an error of the run, not of the bench
        return False
    return response.status_code == endpoint.expect


async def _closed_loop(client: Any, endpoint: Endpoint, *, seconds: float) -> Phase:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            ok = await _send(client, endpoint, next(counter))
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CAPACITY_CLIENTS)))
    elapsed = time.perf_counter() - began
    return Phase(len(latencies), elapsed, latencies, errors, len(latencies) / elapsed)


async def _open_loop(client: Any, endpoint: Endpoint, *, rate: float, seconds: float) -> Phase:
    latencies: list[float] = []
    errors = 0
    total = max(1, int(rate * seconds))
    start = time.perf_counter() + 0.1

    async def one(index: int, due: float) -> None:
        nonlocal errors
        ok = await _send(client, endpoint, index)
        latencies.append((time.perf_counter() - due) * 1000)  # from when it was due, not when it left
        errors += not ok

    tasks = []
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    return Phase(total, total / rate, latencies, errors, rate)


async def _run_endpoints(base_url: str, endpoints: list[Endpoint]) -> list[tuple[Endpoint, Phase, Phase]]:
    import httpx

    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=200)
    timeout = httpx.Timeout(TIMEOUT_SECONDS)
    results = []
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        for endpoint in endpoints:
            await _closed_loop(client, endpoint, seconds=min(3.0, CAPACITY_SECONDS))  # warm-up
            capacity = await _closed_loop(client, endpoint, seconds=CAPACITY_SECONDS)
            rate = max(1.0, capacity.rate * LOAD_SHARE)
            results.append((endpoint, capacity, await _open_loop(client, endpoint, rate=rate, seconds=SECONDS)))
    return results


def report(results: list[tuple[Endpoint, Phase, Phase]]) -> str:
    rows = []
    for endpoint, capacity, load in results:
        verdict = "met" if load.percentile(0.99) < TARGET_P99_MS and load.errors == 0 else "NOT met"
        rows.append(
            f"| {endpoint.name} | {capacity.rate:,.0f}/s ({capacity.errors} errors) | {load.rate:,.1f}/s | "
            f"{load.requests:,} | {load.errors} | {load.percentile(0.50):.1f} ms | {load.percentile(0.99):.1f} ms | "
            f"{load.percentile(0.999):.1f} ms | {statistics.fmean(load.latencies_ms or [0]):.1f} ms | {verdict} |"
        )
    return "\n".join(
        [
            "## Latency at a fixed arrival rate (issue 20)",
            "",
            f"uvicorn ({WORKERS} worker processes) on 127.0.0.1 serving the portal's ASGI application; the generator "
            "(one asyncio loop with httpx, on the same machine) first measures capacity with "
            f"{CAPACITY_CLIENTS} clients in a closed loop for {CAPACITY_SECONDS:.0f} s, then sends at "
            f"{LOAD_SHARE:.0%} of it for {SECONDS:.0f} s on a fixed schedule (open loop); latency counts from when "
            f"each request was due. Target: p99 < {TARGET_P99_MS:.0f} ms and no errors.",
            "",
            "| endpoint | capacity (closed loop) | sent at | requests | errors | p50 | p99 | p99.9 | mean | result |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
        ]
    )


def run() -> str:
    from bench.redemption import _free_port, _server

    endpoints = _endpoints()
    port = _free_port()
    with _server(port=port, workers=WORKERS):
        results = asyncio.run(_run_endpoints(f"http://127.0.0.1:{port}", endpoints))
    return report(results)
