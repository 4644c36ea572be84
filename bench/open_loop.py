"""Latency at a fixed arrival rate: an open-loop generator against the portal served by uvicorn (issue 20, target 3).

For each endpoint the run first measures capacity in a closed loop (`CAPACITY_CLIENTS` clients that each send their
next request as soon as the last one is answered, for `BENCH_OPEN_LOOP_CAPACITY_SECONDS`, after a warm-up), then
sends requests at half of that rate for `BENCH_OPEN_LOOP_SECONDS` (60 by default) on a fixed schedule: request i
leaves at start + i / rate whether or not earlier ones were answered, so a slow answer cannot hold back the load (no
coordinated omission), and each latency is counted from the moment its request was due. p50, p99 and p99.9 are
reported, and every answer that is not the expected status (or no answer within `TIMEOUT_SECONDS`) is an error.

Endpoints:

- `POST /api/payments/qr-redemptions`: dealers with API tokens, each redeeming its own funded code, a fresh
  Idempotency-Key per request;
- `POST /api/leasing/quotes`: anonymous, the demo mileage lease;
- `POST /openid4vp/response/<id>`: a wallet's `direct_post.jwt` answer to a dealer's credit check. Before each phase
  the credit checks are opened through the portal's services (`credit_check_request_create`, which opens the
  OpenID4VP transaction) and each one's answer is made as a wallet makes it (identity/tests/openid4vp/holder.py: an
  SD-JWT VC of the demo credit bureau issued over OpenID4VCI to the holder's P-256 key, the score band and ceiling
  disclosed, a key-binding JWT for the transaction's nonce and audience, encrypted to the transaction's key), so the
  timed request is only the wallet's POST. After the phase every answer the endpoint accepted is checked in the
  database: its credit check must be decided with the expected verdict, or it counts as an error.

The server is bench/redemption.py's (the portal's ASGI application served as `core.serving` serves it;
`BENCH_OPEN_LOOP_WORKERS` processes, by default `core.serving.web_workers()`). The generator is one asyncio loop (uvloop)
in this process with a minimal HTTP/1.1 keep-alive client on raw streams (bench/http1.py), every request's bytes made
before the phase starts, so the timed loop only writes them and reads answers. How late each request left its
schedule (send lag) and the generator's own CPU are measured and reported: on a machine with few cores the generator
competes with the server, and a late send shows there rather than as server latency alone. The generator raises its
own priority above the server's when it may (`GENERATOR_NICE`), so it is not kept off a core by what it measures,
and pauses its own garbage collector during each timed phase (`_collector_paused`), so its pauses are not counted as
the portal's.

`python -m bench --only bench.open_loop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import statistics
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.http1 import Pool, request_bytes
from core.serving import web_workers

SECONDS = float(os.environ.get("BENCH_OPEN_LOOP_SECONDS", "60"))
CAPACITY_SECONDS = float(os.environ.get("BENCH_OPEN_LOOP_CAPACITY_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_OPEN_LOOP_WORKERS", "0")) or web_workers()
WARMUP_SECONDS = 3.0
CAPACITY_CLIENTS = 16
DEALERS = 16
HOLDERS = 8
PREPARE_THREADS = 4
LOAD_SHARE = 0.5
TIMEOUT_SECONDS = 30.0
TARGET_P99_MS = 50.0
LATE_MS = 2.0  # a request that left more than this after it was due is counted as late (timers: about 1 ms)
SLOW_MS = 100.0  # answers slower than this are listed with the second of the phase they were due in
# The generator's scheduling priority (a nice value): it needs about 1% of a core, and raised above the server's it
# is not kept waiting for a core behind the server it measures, which would count against the portal.
GENERATOR_NICE = -5
HOST = "127.0.0.1"
QUOTE_BODY = {
    "product_code": "private-mileage-lease",
    "price": 30_000_00,
    "down_payment": 3_000_00,
    "term_months": 36,
    "yearly_km": 15_000,
    "timing": "in_advance",
}
CREDIT_AMOUNT = 450_00  # monthly instalment: under the demo bureau's ceiling of 650 EUR with score band B
EXPECTED_VERDICT = "approved"
CREDIT_CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")


@dataclass(frozen=True)
class Batch:
    """Requests of one phase: `request(i)` gives the i-th request's bytes; `limit` is how many exist (None: any
    number, made on demand); `wrong(indices)` counts, after the phase, the requests answered with the expected status
    whose effect is not the expected one."""

    request: Callable[[int], bytes]
    limit: int | None = None
    wrong: Callable[[list[int]], int] = lambda indices: 0


@dataclass(frozen=True)
class Endpoint:
    """One endpoint under load: `batch(count)` readies `count` requests (None: as many as a closed loop sends)."""

    name: str
    expect: int
    batch: Callable[[int | None], Batch]
    prepared: bool = False  # each request is made ahead (a credit check and its answer), so a closed loop has a budget


@dataclass
class Phase:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: Counter[str]  # answers with another status (by status) or none (by exception name)
    wrong: int  # answered with the expected status, with the wrong effect (a credit check's verdict)
    rate: float  # closed loop: answered with the expected status per second; open loop: the schedule's rate
    send_lags_ms: list[float] = field(default_factory=list)
    generator_cpu: float = 0.0  # the generator's CPU seconds per wall-clock second during the phase
    stale_retries: int = 0
    slow: list[tuple[float, float]] = field(default_factory=list)  # (seconds into the phase when due, latency ms)

    @property
    def errors(self) -> int:
        return sum(self.failures.values()) + self.wrong

    def percentile(self, fraction: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies_ms if values is None else values)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _endpoints(port: int) -> list[Endpoint]:
    """The parties of the run, made through the portal's services, and one request builder per endpoint."""
    from leasing.demo import leasing_demo_data_load

    leasing_demo_data_load()
    dealers = _dealers_with_codes(count=DEALERS)
    host = f"{HOST}:{port}"

    def redemption(index: int) -> bytes:
        api_token, code_token = dealers[index % len(dealers)]
        body = json.dumps({"token": code_token, "amount": 1, "currency": "EUR"}).encode()
        headers = {
            "Authorization": f"Bearer {api_token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        return request_bytes("POST", "/api/payments/qr-redemptions", host=host, headers=headers, body=body)

    quote = request_bytes(
        "POST", "/api/leasing/quotes", host=host, headers={"Content-Type": "application/json"},
        body=json.dumps(QUOTE_BODY).encode(),
    )  # fmt: skip
    wallet = CreditCheckWallet.create(host=host)
    return [
        Endpoint("`POST /api/payments/qr-redemptions`", 201, lambda count: Batch(redemption)),
        Endpoint("`POST /api/leasing/quotes` (anonymous)", 201, lambda count: Batch(lambda index: quote)),
        Endpoint("`POST /openid4vp/response/<id>` (wallet's credit-check answer)", 200, wallet.batch, prepared=True),
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


@dataclass(frozen=True)
class CreditCheckWallet:
    """Dealers that open credit checks and holders whose wallets answer them, as the portal's tests' holder does."""

    host: str
    dealers: list[object]
    holders: list[tuple[object, str]]  # (P-256 private key, its demo-bureau SD-JWT VC)

    @classmethod
    def create(cls, *, host: str) -> CreditCheckWallet:
        from cryptography.hazmat.primitives.asymmetric import ec

        from accounts.roles import Role
        from accounts.services import dealer_organisation_create, user_create
        from identity.tests.openid4vp.holder import credential_for

        run_id = uuid.uuid4().hex[:8]
        dealers = []
        for index in range(DEALERS):
            organisation = dealer_organisation_create(name=f"Credit dealer {index}", slug=f"vp-{run_id}-{index}")
            dealer = user_create(
                email=f"vp-dealer-{run_id}-{index}@example.test", password=None, role=Role.DEALER,
                dealer_organisation=organisation,
            )  # fmt: skip
            dealers.append(dealer)
        holders = []
        for index in range(HOLDERS):
            customer = user_create(email=f"vp-holder-{run_id}-{index}@example.test", password=None, role=Role.CUSTOMER)
            key = ec.generate_private_key(ec.SECP256R1())
            holders.append((key, credential_for(customer, configuration_id="DemoCreditHistoryCredential", holder=key)))
        return cls(host=host, dealers=dealers, holders=holders)

    def _answers(self, indices: range) -> list[tuple[int, bytes]]:
        """(credit check id, the wallet's POST) for each index: a credit check opened by a dealer, and its answer."""
        from django.db import connection

        from credit_checks.services import credit_check_request_create
        from identity.tests.openid4vp.holder import encrypted_response, present

        made = []
        try:
            for index in indices:
                request = credit_check_request_create(
                    dealer_user=self.dealers[index % len(self.dealers)], purpose="lease", amount=CREDIT_AMOUNT,
                    currency="EUR", term_months=36,
                )  # fmt: skip
                transaction = request.presentation_transaction
                key, credential = self.holders[index % len(self.holders)]
                vp = present(
                    credential, holder=key, disclose=CREDIT_CLAIMS, nonce=transaction.nonce,
                    audience=transaction.client_id,
                )  # fmt: skip
                answer = encrypted_response(
                    {"vp_token": {"credit": [vp]}, "state": transaction.state}, jwk=transaction.encryption_jwk
                )
                raw = request_bytes(
                    "POST", f"/openid4vp/response/{transaction.public_id}", host=self.host,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=urllib.parse.urlencode({"response": answer}).encode(),
                )  # fmt: skip
                made.append((request.pk, raw))
        finally:
            connection.close()  # this thread's connection
        return made

    def batch(self, count: int | None) -> Batch:
        """`count` open credit checks with their answers, made in `PREPARE_THREADS` threads (each its own database
        connection)."""
        assert count is not None, "credit-check answers are made ahead: a phase needs a budget"
        chunks = [range(start, count, PREPARE_THREADS) for start in range(PREPARE_THREADS)]
        with ThreadPoolExecutor(PREPARE_THREADS) as pool:
            by_chunk = list(pool.map(self._answers, chunks))
        made: list[tuple[int, bytes]] = [(0, b"")] * count
        for chunk, answers in zip(chunks, by_chunk, strict=True):
            for index, answer in zip(chunk, answers, strict=True):
                made[index] = answer
        return Batch(
            request=lambda index: made[index][1],
            limit=count,
            wrong=lambda indices: _verdicts_wrong([made[index][0] for index in indices]),
        )


def _verdicts_wrong(request_ids: list[int]) -> int:
    """How many of these credit checks were not decided with the expected verdict."""
    from credit_checks.models import CreditCheckRequest, CreditCheckStatus

    right = CreditCheckRequest.objects.filter(
        pk__in=request_ids, status=CreditCheckStatus.DECIDED, verdict__outcome=EXPECTED_VERDICT
    ).count()
    return len(request_ids) - right


class _Outcomes:
    """What came back for each request of a phase."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.send_lags_ms: list[float] = []
        self.failures: Counter[str] = Counter()
        self.succeeded: list[int] = []
        self.due: list[float] = []  # when each answered request was due, beside `latencies_ms`

    async def send(self, pool: Pool, endpoint: Endpoint, raw: bytes, index: int, due: float, *, lag: bool) -> bool:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                answer = await pool.request(raw)
        except Exception as error:  # noqa: BLE001 - a refused, dropped or unanswered request is an error of the run
            self.latencies_ms.append((time.perf_counter() - due) * 1000)
            self.due.append(due)
            self.failures[type(error).__name__] += 1
            return False
        self.latencies_ms.append((time.perf_counter() - due) * 1000)  # from when it was due, not when it left
        self.due.append(due)
        if lag:
            self.send_lags_ms.append((answer.sent_at - due) * 1000)
        if answer.status != endpoint.expect:
            self.failures[str(answer.status)] += 1
            return False
        self.succeeded.append(index)
        return True


async def _closed_loop(pool: Pool, endpoint: Endpoint, batch: Batch, *, seconds: float) -> Phase:
    """`CAPACITY_CLIENTS` clients back to back for `seconds`, or until the batch's requests are used up."""
    outcomes = _Outcomes()
    counter = iter(range(batch.limit if batch.limit is not None else 10**12))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            index = next(counter, None)
            if index is None:
                return
            await outcomes.send(pool, endpoint, batch.request(index), index, time.perf_counter(), lag=False)

    with _collector_paused():
        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CAPACITY_CLIENTS)))
        elapsed = time.perf_counter() - began
    wrong = await asyncio.to_thread(_in_thread, batch.wrong, outcomes.succeeded)
    answered = len(outcomes.succeeded) - wrong
    return Phase(
        len(outcomes.latencies_ms), elapsed, outcomes.latencies_ms, outcomes.failures, wrong, answered / elapsed
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The generator's own cyclic garbage collector off for a timed phase, its heap frozen first. The generator holds
    the portal's models, the phase's prepared requests and a task for every request sent; with a callback on its
    collector (2026-12-07), its full collections took 100 to 180 ms each, and each held back sends and the reading
    of answers, counted as the portal's latency. Reference counting still frees what the phase drops; what cycles it
    leaves are collected after the phase."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def _in_thread(function: Callable[[list[int]], int], indices: list[int]) -> int:
    from django.db import connection

    try:
        return function(indices)
    finally:
        connection.close()


async def _open_loop(pool: Pool, endpoint: Endpoint, raws: list[bytes], batch: Batch, *, rate: float) -> Phase:
    """Request i leaves at start + i / rate, whatever became of the ones before it."""
    outcomes = _Outcomes()
    total = len(raws)
    tasks = []
    await pool.warm(CAPACITY_CLIENTS)
    with _collector_paused():
        start = time.perf_counter() + 0.2
        cpu_before = time.process_time()
        index = 0
        while index < total:
            now = time.perf_counter()
            while index < total and (due := start + index / rate) <= now:
                tasks.append(asyncio.create_task(outcomes.send(pool, endpoint, raws[index], index, due, lag=True)))
                index += 1
            if index < total:
                await asyncio.sleep(start + index / rate - time.perf_counter())
        await asyncio.gather(*tasks)
        cpu = time.process_time() - cpu_before
        wall = time.perf_counter() - start
    wrong = await asyncio.to_thread(_in_thread, batch.wrong, outcomes.succeeded)
    slow = [
        (due - start, latency)
        for due, latency in zip(outcomes.due, outcomes.latencies_ms, strict=True)
        if latency > SLOW_MS
    ]
    return Phase(
        total, total / rate, outcomes.latencies_ms, outcomes.failures, wrong, rate,
        send_lags_ms=outcomes.send_lags_ms, generator_cpu=cpu / wall, stale_retries=pool.stale_retries,
        slow=sorted(slow),
    )  # fmt: skip


async def _measure(port: int, endpoint: Endpoint) -> tuple[Phase, Phase]:
    pool = Pool(HOST, port)
    try:
        if endpoint.prepared:
            # The warm-up's rate (first answers of each process included) sizes the capacity phase's budget; a
            # budget used up early ends the phase early, and its rate is over the time it took.
            warm_batch = await asyncio.to_thread(endpoint.batch, max(100, 20 * WORKERS))
            warm = await _closed_loop(pool, endpoint, warm_batch, seconds=WARMUP_SECONDS * 10)
            budget = max(200, math.ceil(max(warm.rate, 1.0) * 2.5 * CAPACITY_SECONDS))
            capacity_batch = await asyncio.to_thread(endpoint.batch, budget)
        else:
            await _closed_loop(pool, endpoint, endpoint.batch(None), seconds=min(WARMUP_SECONDS, CAPACITY_SECONDS))
            capacity_batch = endpoint.batch(None)
        capacity = await _closed_loop(pool, endpoint, capacity_batch, seconds=CAPACITY_SECONDS)
        rate = max(1.0, capacity.rate * LOAD_SHARE)
        total = max(1, int(rate * SECONDS))
        batch = await asyncio.to_thread(endpoint.batch, total)
        raws = [batch.request(index) for index in range(total)]  # made before the schedule starts
        pool.close()  # idle since the capacity phase: new connections for the timed phase
        pool.stale_retries = 0
        return capacity, await _open_loop(pool, endpoint, raws, batch, rate=rate)
    finally:
        pool.close()


def _generator_priority() -> str:
    """Raises this thread's priority (threads it starts inherit it; the server, started before, does not)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, GENERATOR_NICE)
    except OSError:
        return "at the server's priority (raising its own was not permitted)"
    return f"at nice {GENERATOR_NICE} (the server at 0)"


def _run_endpoints(port: int, endpoints: list[Endpoint]) -> list[tuple[Endpoint, Phase, Phase]]:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        loop_factory = None
    results = []
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        for endpoint in endpoints:
            print(f"  {endpoint.name} ...", flush=True)
            results.append((endpoint, *runner.run(_measure(port, endpoint))))
    return results


def _failures_text(phase: Phase) -> str:
    parts = [f"{count} x {what}" for what, count in phase.failures.most_common()]
    if phase.wrong:
        parts.append(f"{phase.wrong} x wrong verdict")
    return f"{phase.errors} ({', '.join(parts)})" if parts else "0"


def _slow_text(phase: Phase) -> str:
    """The answers over `SLOW_MS`, by the second of the phase they were due in: one stall shows as one run of seconds,
    a slower endpoint as answers spread over the whole phase."""
    if not phase.slow:
        return "none"
    by_second = Counter(int(offset) for offset, _ in phase.slow)
    worst = {second: max(ms for offset, ms in phase.slow if int(offset) == second) for second in by_second}
    return ", ".join(f"{count} at {second} s (≤ {worst[second]:.0f} ms)" for second, count in sorted(by_second.items()))


def report(results: list[tuple[Endpoint, Phase, Phase]], *, priority: str = "") -> str:
    rows, lag_rows, slow_rows = [], [], []
    for endpoint, capacity, load in results:
        verdict = "met" if load.percentile(0.99) < TARGET_P99_MS and load.errors == 0 else "NOT met"
        rows.append(
            f"| {endpoint.name} | {capacity.rate:,.0f}/s ({_failures_text(capacity)} errors) | {load.rate:,.1f}/s | "
            f"{load.requests:,} | {_failures_text(load)} | {load.percentile(0.50):.1f} ms | "
            f"{load.percentile(0.99):.1f} ms | {load.percentile(0.999):.1f} ms | "
            f"{max(load.latencies_ms or [math.nan]):.1f} ms | **{verdict}** |"
        )
        late = sum(1 for lag in load.send_lags_ms if lag > LATE_MS)
        lag_rows.append(
            f"| {endpoint.name} | {load.percentile(0.50, load.send_lags_ms):.2f} ms | "
            f"{load.percentile(0.99, load.send_lags_ms):.2f} ms | {max(load.send_lags_ms or [math.nan]):.1f} ms | "
            f"{late:,} of {len(load.send_lags_ms):,} | {load.generator_cpu:.1%} | {load.stale_retries} |"
        )
        slow_rows.append(f"| {endpoint.name} | {len(load.slow):,} | {_slow_text(load)} |")
    mean_cpu = statistics.fmean(load.generator_cpu for _, _, load in results) if results else 0.0
    return "\n".join(
        [
            "## Latency at a fixed arrival rate (issue 20)",
            "",
            f"uvicorn ({WORKERS} worker processes, `core.serving`) on 127.0.0.1 serving the portal's ASGI "
            "application; the generator (one asyncio loop with uvloop and a raw-stream HTTP/1.1 keep-alive client, "
            f"bench/http1.py, on the same machine) first measures capacity with {CAPACITY_CLIENTS} clients in a "
            f"closed loop for {CAPACITY_SECONDS:.0f} s after a warm-up, then sends at {LOAD_SHARE:.0%} of it for "
            f"{SECONDS:.0f} s on a fixed schedule (open loop); latency counts from when each request was due, so "
            f"a late send counts against the portal. Target per endpoint: p99 < {TARGET_P99_MS:.0f} ms and no errors "
            "at half of capacity; p99.9 reported.",
            "",
            "The credit-check answer is a wallet's `direct_post.jwt` POST to the OpenID4VP response endpoint: an "
            "encrypted SD-JWT VC presentation of the demo bureau's credit history (score band B, ceiling 650 EUR; "
            f"{HOLDERS} holders) for a check of {CREDIT_AMOUNT // 100} EUR a month, each to its own open credit check "
            "made before the phase. The endpoint decrypts, checks the DCQL fit, the issuer signature, status lists, "
            "key binding and anchor, then decides and stores the verdict; every accepted answer is then checked in "
            f"the database for the verdict `{EXPECTED_VERDICT}`, a different one counting as an error. The "
            "credentials' anchor leaves wait for an anchoring run (no worker runs here), which the verifier accepts "
            "for credentials issued by the portal without asking the Tangle node, as it does in production between "
            "runs; a confirmed root is cached per process, so in steady state neither path asks the node.",
            "",
            "| endpoint | capacity (closed loop) | sent at | requests | errors | p50 | p99 | p99.9 | max | result |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
            f"The generator's own schedule: send lag is how long after its due time each request was handed to the "
            f"socket (timers have about 1 ms resolution); late is more than {LATE_MS:.0f} ms. Generator CPU is its "
            "process's CPU time over the open-loop phase's wall time (all request bytes were made before it); stale "
            "retries are reused keep-alive connections the server had closed (sent again on a new one).",
            "",
            "| endpoint | send lag p50 | send lag p99 | send lag max | late | generator CPU | stale retries |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *lag_rows,
            "",
            f"The generator ran {priority or 'at the default priority'} and used {mean_cpu:.1%} of one core on "
            f"average, on a machine with {os.cpu_count()} cores it shares with the server; its own garbage collector "
            "was paused during each timed phase, its heap frozen before it.",
            "",
            f"Answers slower than {SLOW_MS:.0f} ms in the open loop, by the second of the phase they were due in (a "
            "stall of the machine or the server shows as one run of seconds; a slow endpoint as answers all along):",
            "",
            "| endpoint | answers over the limit | when (seconds into the phase) |",
            "|---|---:|---|",
            *slow_rows,
            "",
        ]
    )


def run() -> str:
    from bench.redemption import _free_port, _server

    port = _free_port()
    endpoints = _endpoints(port)
    with _server(port=port, workers=WORKERS):
        priority = _generator_priority()
        results = _run_endpoints(port, endpoints)
    return report(results, priority=priority)
