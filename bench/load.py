"""Load run: the whole portal on loopback under a realistic mix of its users, optionally with faults injected.

`make load` (part of `make bench`) and `make faults` run it. It creates a fresh PostgreSQL database, loads the
parties of the run through the portal's services, starts the portal as separate processes (bench/stack.py: uvicorn,
a Celery worker, beat and the Tangle dev node, with Redis as broker, cache and channel layer) and drives it over
HTTP and OCPP websockets, bounded in time, with these users at once:

- visitors browsing the landing page, the shop, the lease calculator and the portal's DID document;
- customers buying QR codes with a sandbox card (the acquirer's signed webhook is delivered by the worker);
- dealers redeeming and capturing codes over the API (settlement to the dealer runs in the worker);
- dealers opening credit checks over the API, answered by customers presenting a wallet credential on the
  credit check's page (the link-based answer);
- dealers opening credit checks over the API, answered by the customers' wallet apps over OpenID4VP (the request
  object fetched from its `request_uri`, a `direct_post.jwt` answer to its `response_uri`), the dealer polling for
  the verdict;
- charging stations running OCPP 1.6J sessions paid from vehicle wallets.

A client that loses its connection or gets a 5xx retries the same request, with the same Idempotency-Key, as the
portal's API clients are told to. With ``faults``, a schedule kills the worker, restarts Redis, stops the Tangle node
for a minute and restarts the web server while the load runs. Afterwards the run waits for the portal to drain and
checks, from the database and the Tangle node, that the books reconcile (see `reconcile`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.stack import Stack, redis_restart
from core.serving import web_workers

# A run beside another one (a shared machine) names its own database, cache and broker.
DATABASE_NAME = os.environ.get("BENCH_LOAD_DATABASE", "finlab_load")
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))  # the `make bench` / `make load` section's load
DEALER_CODE_AMOUNT = 5_000_00
PASSWORD = "load-run-password-4711"  # noqa: S105 - throwaway users of the load database
WEB_WORKERS = web_workers()  # as production and `make run` serve the portal (core.serving)
WORKER_CONCURRENCY = 2
USERS = {"browse": 4, "buy": 2, "redeem": 4, "credit": 2, "wallet": 2, "ocpp": 4}
DRAIN_SECONDS = 240
RETRIES = 30
CARD = "4242424242424242"  # the sandbox acquirer's card that approves without a challenge
REGISTERS_WH = [0, 3_000, 7_000, 11_000]


@dataclass
class Stats:
    """Latency and outcome of every request, per endpoint label; shared by the user threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # 5xx answers written by a portal process itself: 500s and the like (own_errors) and its deliberate "unavailable,
    # send again" 503s (unavailable). Behind a balancer, only answers carrying `origin_header` (which the balancer
    # adds to answers of a portal process) count; its own 502/503/504 for a backend it could not reach do not.
    own_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unavailable: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    origin_header: str = ""
    # (seconds since the run began, answering portal host) per answer, when the balancer names the host.
    served: list[tuple[float, str]] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, label: str, seconds: float, *, ok: bool) -> None:
        with self.lock:
            self.latencies[label].append(seconds)
            if not ok:
                self.errors[label] += 1

    def retry(self, label: str) -> None:
        with self.lock:
            self.retries[label] += 1

    def answered(self, label: str, response: requests.Response) -> None:
        origin = response.headers.get(self.origin_header, "") if self.origin_header else ""
        with self.lock:
            if origin:
                self.served.append((time.monotonic() - self.began, origin))
            if response.status_code < 500 or (self.origin_header and not origin):
                return
            if response.status_code == 503:
                self.unavailable[label] += 1
            else:
                self.own_errors[label] += 1


@dataclass
class Ledger:
    """What the clients were told was accepted; the reconciliation checks each of these in the database."""

    captured_redemptions: set[str] = field(default_factory=set)
    paid_orders: set[str] = field(default_factory=set)
    credentials: set[str] = field(default_factory=set)
    verdicts: set[str] = field(default_factory=set)
    wallet_answers: set[str] = field(default_factory=set)  # credit checks whose OpenID4VP answer was accepted
    sessions: set[tuple[str, int]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, value: object) -> None:
        with self.lock:
            getattr(self, name).add(value)


class GaveUp(Exception):
    pass


class Client:
    """One user's HTTP client: a keep-alive session that retries lost connections and 5xx answers unchanged."""

    def __init__(self, *, base_url: str, stats: Stats, token: str = "") -> None:
        self.base_url = base_url
        self.stats = stats
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, label: str, expect: tuple[int, ...], **kwargs) -> requests.Response:
        for attempt in range(RETRIES):
            began = time.perf_counter()
            try:
                response = self.session.request(
                    method, self.base_url + path, timeout=30, allow_redirects=False, **kwargs
                )
            except requests.RequestException:
                self.stats.record(label, time.perf_counter() - began, ok=False)
                self.stats.retry(label)
                time.sleep(min(0.2 * 2**attempt, 3.0))
                continue
            self.stats.record(label, time.perf_counter() - began, ok=response.status_code in expect)
            self.stats.answered(label, response)
            if response.status_code >= 500 or response.status_code == 429:
                self.stats.retry(label)
                time.sleep(min(0.2 * 2**attempt, 3.0))
                continue
            return response
        raise GaveUp(f"{method} {path}: no answer after {RETRIES} attempts")

    def csrf(self, path: str, *, label: str) -> str:
        self.call("GET", path, label=label, expect=(200,))
        return self.session.cookies.get("csrftoken", "")

    def log_in(self, email: str) -> None:
        token = self.csrf("/accounts/login/", label="GET /accounts/login/")
        data = {"csrfmiddlewaretoken": token, "email": email, "password": PASSWORD}
        response = self.call("POST", "/accounts/login/", label="POST /accounts/login/", expect=(302,), data=data)
        if response.status_code != 302:
            raise GaveUp(f"login of {email} answered {response.status_code}")


# --- the parties of the run -----------------------------------------------------------------------------------------


@dataclass
class Parties:
    customers: list[str]
    dealer_tokens: list[str]
    code_tokens: list[str]
    stations: list[tuple[str, str]]
    product_slug: str
    # (P-256 key, SD-JWT VC) of each wallet user's app: issued once the server runs (`wallet_credentials_issue`).
    wallet_credentials: list[tuple[object, str]] = field(default_factory=list)


def parties_create() -> Parties:
    """Customers, dealers with API tokens and funded codes, stations and funded vehicles, through the services."""
    from accounts.roles import Role
    from accounts.services import api_token_create, dealer_organisation_create, user_create
    from leasing.demo import leasing_demo_data_load
    from machines.services import registry
    from payments.checkout.services import checkout_order_create, checkout_order_pay
    from payments.ledger.client import house_account_get_or_open
    from payments.ledger.registry import Purpose
    from payments.models import CheckoutProvider
    from payments.qr.selectors import qr_code_view
    from payments.qr.services import qr_product_create

    # Each dealer redeems 1 EUR at a time from one code for the whole run: 5,000 EUR lasts 5,000 redemptions, more than
    # a dealer gets through in a fault run (500 EUR ran out after 150 s once redemptions took 80 ms).
    product = qr_product_create(
        slug="load-credit", name="Workshop credit", min_amount=10_00, max_amount=DEALER_CODE_AMOUNT
    )
    leasing_demo_data_load()
    customers = [
        user_create(email=f"customer{n}@load.test", password=PASSWORD, role=Role.CUSTOMER).email
        for n in range(USERS["buy"] + USERS["credit"] + USERS["wallet"])
    ]
    owner = user_create(email="fleet@load.test", password=PASSWORD, role=Role.CUSTOMER)
    dealer_tokens, code_tokens = [], []
    for n in range(max(USERS["redeem"], USERS["credit"], USERS["wallet"])):
        organisation = dealer_organisation_create(name=f"Autohaus Load {n}", slug=f"load-{n}")
        dealer = user_create(
            email=f"dealer{n}@load.test", password=PASSWORD, role=Role.DEALER, dealer_organisation=organisation
        )
        dealer_tokens.append(api_token_create(user=dealer, name="dealer management system")[1])
        order, _ = checkout_order_create(
            customer=owner, product=product, amount=DEALER_CODE_AMOUNT, provider=CheckoutProvider.CARD_SANDBOX
        )
        order = checkout_order_pay(
            order_id=order.pk,
            funding_account=house_account_get_or_open(ledger="EUR", purpose=Purpose.QR_CARD_ACQUIRER_CLEARING),
        )
        code_tokens.append(qr_code_view(code=order.code).token)
    operator_org = dealer_organisation_create(name="Charge Load GmbH", slug="load-operator")
    operator = user_create(
        email="operator@load.test", password=PASSWORD, role=Role.DEALER, dealer_organisation=operator_org
    )
    reviewer = user_create(email="reviewer@load.test", password=PASSWORD, role=Role.BACK_OFFICE)
    stations = []
    for n in range(USERS["ocpp"]):
        station = registry.station_register(
            owner=operator,
            station_id=f"LOAD-{n:03d}",
            name=f"Load {n}",
            password=PASSWORD,
            price_per_kwh=39,
            session_fee=50,
        )
        # Back office approves the station and the owner approves its operator, as in production.
        registry.station_review_decide(station=station, reviewer=reviewer, is_approved=True)
        vehicle = registry.vehicle_register(owner=owner, name=f"Load car {n}", session_limit=2_000, daily_limit=10**9)
        registry.vehicle_operator_approve(vehicle=vehicle, operator=station.operator)
        registry.vehicle_top_up(vehicle=vehicle, amount=10**8, reference="load run")
        stations.append((station.station_id, vehicle.id_token))
    return Parties(customers, dealer_tokens, code_tokens, stations, product.slug)


# --- the users ------------------------------------------------------------------------------------------------------

# Pages a visitor reads (the API endpoints anonymous clients may call are throttled per address, so not here).
BROWSE_PAGES = ["/", "/payments/qr/shop/", "/leasing/", "/accounts/login/", "/health/ready"]


def browse(*, base_url: str, stats: Stats, stop: threading.Event, ready: threading.Barrier, **_: object) -> None:
    client = Client(base_url=base_url, stats=stats)
    index = 0
    ready.wait()
    while not stop.is_set():
        page = BROWSE_PAGES[index % len(BROWSE_PAGES)]
        client.call("GET", page, label=f"GET {page}", expect=(200,))
        index += 1


def buy(
    *,
    base_url: str,
    stats: Stats,
    stop: threading.Event,
    ready: threading.Barrier,
    email: str,
    slug: str,
    books: Ledger,
    **_,
) -> None:
    client = Client(base_url=base_url, stats=stats)
    client.log_in(email)
    order_page = f"/payments/qr/shop/{slug}/"
    ready.wait()
    while not stop.is_set():
        token = client.csrf(order_page, label="GET /payments/qr/shop/<product>/")
        data = {"csrfmiddlewaretoken": token, "amount": "25.00", "provider": "card_sandbox"}
        ordered = client.call("POST", order_page, label="POST /payments/qr/shop/<product>/", expect=(302,), data=data)
        if ordered.status_code != 302:
            continue
        card_page = ordered.headers["Location"]
        token = client.csrf(card_page, label="GET /payments/checkout/sandbox/<order>/")
        data = {"csrfmiddlewaretoken": token, "card_number": CARD, "expiry": "12/30", "cvc": "123"}
        paid = client.call(
            "POST", card_page, label="POST /payments/checkout/sandbox/<order>/", expect=(302,), data=data
        )
        if paid.status_code == 302:
            books.add("paid_orders", card_page.rstrip("/").rsplit("/", 1)[1])


def redeem(
    *,
    base_url: str,
    stats: Stats,
    stop: threading.Event,
    ready: threading.Barrier,
    token: str,
    code: str,
    books: Ledger,
    **_,
) -> None:
    client = Client(base_url=base_url, stats=stats, token=token)
    body = {"token": code, "amount": 100, "currency": "EUR"}
    ready.wait()
    while not stop.is_set():
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        authorized = client.call(
            "POST",
            "/api/payments/qr-redemptions",
            label="POST /api/payments/qr-redemptions",
            expect=(200, 201),
            json=body,
            headers=headers,
        )
        if authorized.status_code not in (200, 201):
            continue
        redemption_id = authorized.json()["id"]
        captured = client.call(
            "POST",
            f"/api/payments/qr-redemptions/{redemption_id}/capture",
            label="POST /api/payments/qr-redemptions/<id>/capture",
            expect=(200,),
            json={"amount": 100},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if captured.status_code == 200:
            books.add("captured_redemptions", redemption_id)


CREDIT_AMOUNT = 450_00  # a month, under the demo bureau's ceiling of 650 EUR with score band B: approved


def credit_check_open(dealer: Client) -> dict | None:
    """The dealer asks for a lease credit check; None when the portal did not open one (the failure is counted)."""
    request_body = {"purpose": "lease", "amount": CREDIT_AMOUNT, "currency": "EUR", "termMonths": 36}
    opened = dealer.call(
        "POST",
        "/api/identity/credit-checks",
        label="POST /api/identity/credit-checks",
        expect=(201,),
        json=request_body,
    )
    return opened.json() if opened.status_code == 201 else None


def verdict_poll(dealer: Client, *, request_id: str, books: Ledger) -> None:
    """The dealer polls the check once; a verdict it sees is booked for the reconciliation."""
    polled = dealer.call(
        "GET", f"/api/identity/credit-checks/{request_id}", label="GET /api/identity/credit-checks/<id>", expect=(200,)
    )
    if polled.status_code == 200 and (polled.json().get("verdict") or {}).get("outcome"):
        books.add("verdicts", request_id)


def credit(
    *,
    base_url: str,
    stats: Stats,
    stop: threading.Event,
    ready: threading.Barrier,
    token: str,
    email: str,
    books: Ledger,
    **_,
) -> None:
    from identity.credentials.dids import did_key_from_public_key
    from identity.credentials.keys import generate_private_key, public_key_bytes
    from identity.credentials.sd_jwt import present_sd_jwt

    dealer = Client(base_url=base_url, stats=stats, token=token)
    customer = Client(base_url=base_url, stats=stats)
    customer.log_in(email)
    key = generate_private_key()
    holder_did = did_key_from_public_key(public_key_bytes(key))
    ready.wait()
    while not stop.is_set():
        request = credit_check_open(dealer)
        if request is None:
            continue
        csrf = customer.session.cookies.get("csrftoken", "")
        issued = customer.call(
            "POST",
            "/api/identity/wallet/credentials",
            label="POST /api/identity/wallet/credentials",
            expect=(201,),
            json={"kind": "credit_history", "holderDid": holder_did},
            headers={"X-CSRFToken": csrf},
        )
        if issued.status_code != 201:
            continue
        books.add("credentials", issued.json()["anchor"]["leafHash"])
        respond = "/" + request["link"].split("/", 3)[3]
        csrf = customer.csrf(respond, label="GET /identity/credit-checks/respond/<link>/")
        presentation = present_sd_jwt(
            sd_jwt=issued.json()["verifiableCredential"],
            disclose=["scoreBand", "affordabilityCeilingPerMonth"],
            holder_private_key=key,
            challenge=request["challenge"],
            domain=request["domain"],
            issued_at=dt.datetime.now(dt.UTC),
        )
        data = {"csrfmiddlewaretoken": csrf, "action": "present", "presentation": presentation}
        customer.call("POST", respond, label="POST /identity/credit-checks/respond/<link>/", expect=(302,), data=data)
        verdict_poll(dealer, request_id=request["id"], books=books)


WALLET_LINK = re.compile(r'href="([^"]+)" data-testid="openid4vp-wallet-link"')
CREDIT_CLAIMS = ("scoreBand", "affordabilityCeilingPerMonth")
EXPECTED_VERDICT = "approved"


def wallet_credentials_issue(parties: Parties, environment: dict[str, str]) -> None:
    """Each wallet user's app gets the demo bureau's credit history as an SD-JWT VC bound to its own P-256 key,
    issued by the portal's OpenID4VCI code (as the tests' holder gets it) under the running server's issuer URL."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.test import override_settings

    from accounts.models import User
    from identity.tests.openid4vp.holder import credential_for

    base_url = environment.get("PORTAL_BASE_URL", "")
    names = {"PORTAL_BASE_URL": base_url, "PORTAL_HOST": environment.get("PORTAL_HOST", "")}
    names["OPENID4VCI_CREDENTIAL_ISSUER"] = environment.get("OPENID4VCI_CREDENTIAL_ISSUER", base_url)
    first_wallet = USERS["buy"] + USERS["credit"]
    with override_settings(**{name: value for name, value in names.items() if value}):
        for email in parties.customers[first_wallet : first_wallet + USERS["wallet"]]:
            key = ec.generate_private_key(ec.SECP256R1())
            credential = credential_for(
                User.objects.get(email=email), configuration_id="DemoCreditHistoryCredential", holder=key
            )
            parties.wallet_credentials.append((key, credential))


def wallet(
    *,
    base_url: str,
    stats: Stats,
    stop: threading.Event,
    ready: threading.Barrier,
    token: str,
    email: str,
    holder: tuple[object, str],
    books: Ledger,
    **_,
) -> None:
    """A dealer's credit check answered over OpenID4VP: the customer opens the check's page (which binds it to them
    and shows the wallet link), the wallet app fetches the signed request object, presents the two claims with key
    binding for its nonce and encrypts the answer to the request's key; the dealer polls for the verdict."""
    from identity.credentials import jose
    from identity.tests.openid4vp.holder import encrypted_response, present

    dealer = Client(base_url=base_url, stats=stats, token=token)
    customer = Client(base_url=base_url, stats=stats)
    customer.log_in(email)
    app = Client(base_url=base_url, stats=stats)  # the wallet app: no session at the portal
    key, credential = holder
    ready.wait()
    while not stop.is_set():
        request = credit_check_open(dealer)
        if request is None:
            continue
        respond = "/" + request["link"].split("/", 3)[3]
        page = customer.call("GET", respond, label="GET /identity/credit-checks/respond/<link>/", expect=(200,))
        link = WALLET_LINK.search(page.text) if page.status_code == 200 else None
        if link is None:
            stats.record("credit check page without a wallet link", 0.0, ok=False)
            continue
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(link.group(1))).query)
        request_path = urllib.parse.urlsplit(query["request_uri"][0]).path
        fetched = app.call("GET", request_path, label="GET /openid4vp/request/<id>", expect=(200,))
        if fetched.status_code != 200:
            continue
        _header, asked, _input, _signature = jose.decode_compact(fetched.text)
        presentation = present(
            credential, holder=key, disclose=CREDIT_CLAIMS, nonce=asked["nonce"], audience=asked["client_id"]
        )
        answer = encrypted_response(
            {"vp_token": {"credit": [presentation]}, "state": asked["state"]},
            jwk=asked["client_metadata"]["jwks"]["keys"][0],
        )
        answered = app.call(
            "POST",
            urllib.parse.urlsplit(asked["response_uri"]).path,
            label="POST /openid4vp/response/<id>",
            expect=(200,),
            data={"response": answer},
        )
        if answered.status_code != 200:
            continue
        books.add("wallet_answers", request["id"])
        verdict_poll(dealer, request_id=request["id"], books=books)


def ocpp(
    *,
    base_url: str,
    stats: Stats,
    stop: threading.Event,
    ready: threading.Barrier,
    station: tuple[str, str],
    books: Ledger,
    **_,
) -> None:
    ready.wait()
    asyncio.run(_ocpp_sessions(base_url=base_url, stats=stats, stop=stop, station=station, books=books))


async def _ocpp_sessions(*, base_url: str, stats: Stats, stop: threading.Event, station, books: Ledger) -> None:
    """Sessions one after another over one websocket, as a charge point keeps its connection open. When the
    connection is lost the station reconnects, boots again and first resends what its transaction queue holds, as a
    charge point does: the StartTransaction whose answer was lost (identical, so the portal recognises it and answers
    with the same transaction) and the StopTransaction of the session that was cut."""
    from ocpp.v16 import call as call16

    from machines.testing import RoundTrips, energy_sample16, iso, station_connection

    station_id, id_tag = station
    ws_url = base_url.replace("http://", "ws://")
    step = dt.timedelta(minutes=5)
    label = "OCPP 1.6 message round trip"
    cut: tuple[int, dt.datetime] | None = None  # a started session whose stop was not answered yet
    starting: dt.datetime | None = None  # a StartTransaction sent whose answer has not arrived
    failures = 0
    while not stop.is_set() or cut is not None or starting is not None:
        round_trips = RoundTrips()
        try:
            async with station_connection(
                base_url=ws_url, station_id=station_id, password=PASSWORD, version="1.6", round_trips=round_trips
            ) as client:
                await client.timed_call(call16.BootNotification(charge_point_model="Sim", charge_point_vendor="FinLab"))
                while True:
                    if starting is not None:
                        resent = await client.timed_call(
                            call16.StartTransaction(
                                connector_id=1, id_tag=id_tag, meter_start=REGISTERS_WH[0], timestamp=iso(starting)
                            )
                        )
                        if resent.id_tag_info["status"] != "Accepted":  # refused: nothing to stop
                            stats.record("OCPP resent start refused", 0.0, ok=False)
                            starting = None
                        else:
                            cut, starting = (resent.transaction_id, starting), None
                    if cut is not None:
                        transaction_id, start = cut
                        await client.timed_call(
                            call16.StopTransaction(
                                meter_stop=REGISTERS_WH[-1],
                                timestamp=iso(start + step * (len(REGISTERS_WH) - 1)),
                                transaction_id=transaction_id,
                                reason="EVDisconnected",
                            )
                        )
                        books.add("sessions", (station_id, transaction_id))
                        cut, failures = None, 0
                    for seconds in round_trips.seconds:
                        stats.record(label, seconds, ok=True)
                    round_trips.seconds.clear()
                    if stop.is_set():
                        return
                    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
                    await client.timed_call(call16.Authorize(id_tag=id_tag))
                    starting = start
                    started = await client.timed_call(
                        call16.StartTransaction(
                            connector_id=1, id_tag=id_tag, meter_start=REGISTERS_WH[0], timestamp=iso(start)
                        )
                    )
                    if started.id_tag_info["status"] != "Accepted":
                        starting = None
                        stats.record("OCPP session refused", 0.0, ok=False)
                        await asyncio.sleep(1)
                        continue
                    cut, starting = (started.transaction_id, start), None
                    for index, register in enumerate(REGISTERS_WH[1:-1], start=1):
                        await client.timed_call(
                            call16.MeterValues(
                                connector_id=1,
                                transaction_id=started.transaction_id,
                                meter_value=[energy_sample16(moment=start + step * index, energy_wh=register)],
                            )
                        )
        except Exception:  # noqa: BLE001 - a lost websocket or a refused connection: reconnect and go on
            stats.record(label, 0.0, ok=False)
            stats.retry(label)
            failures += 1
            if failures > RETRIES:
                raise GaveUp(f"station {station_id}: no connection after {RETRIES} attempts") from None
            await asyncio.sleep(min(0.2 * 2**failures, 3.0))


# --- faults ---------------------------------------------------------------------------------------------------------


@dataclass
class FaultEvent:
    at_seconds: float
    fault: str
    detail: str


def fault_schedule(stack: Stack, *, began: float, stop: threading.Event, events: list[FaultEvent]) -> None:
    """Kills the worker, restarts Redis, stops the Tangle node for a minute, restarts the web server."""

    def at(seconds: float) -> bool:
        while time.monotonic() - began < seconds:
            if stop.wait(0.2):
                return False
        return True

    def note(fault: str, detail: str) -> None:
        events.append(FaultEvent(time.monotonic() - began, fault, detail))
        print(f"[{time.monotonic() - began:6.1f} s] {fault}: {detail}", flush=True)

    if not at(20):
        return
    stack.kill("worker", sig=signal.SIGKILL)
    note("Celery worker killed", "SIGKILL to the worker and its pool children, mid-task")
    time.sleep(5)
    stack.start("worker")
    note("Celery worker started", "a new worker process after 5 s")
    if not at(45):
        return
    down = redis_restart()
    note(
        "Redis restarted",
        f"shut down without saving (every queued message and cached value lost), up after {down:.1f} s",
    )
    if not at(65):
        return
    stack.kill("tangle", sig=signal.SIGTERM)
    note("Tangle node stopped", "for 60 s")
    if not at(125):
        return
    stack.start("tangle")
    note("Tangle node started", "same data directory")
    if not at(140):
        return
    stack.kill("web", sig=signal.SIGKILL)
    note("web server killed", "SIGKILL to uvicorn and its workers")
    stack.start("web")
    note("web server started", "answering /health/live again")


# --- profile --------------------------------------------------------------------------------------------------------

# BENCH_LOAD_PROFILE=1: py-spy samples the web server's processes over the measured window (when py-spy is installed;
# requirements/bench.txt pins it). Not blocking the processes while it reads their stacks, at PROFILE_RATE a second,
# it costs the portal little; idle frames are kept, so time a view waits on PostgreSQL or a lock is in its profile.
PROFILE = os.environ.get("BENCH_LOAD_PROFILE", "") == "1"
PROFILE_RATE = 25
PROFILE_TOP = 8
_FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^()]+?)(?::\d+)?\)$")


def _py_spy() -> str | None:
    beside_python = Path(sys.executable).with_name("py-spy")
    return shutil.which("py-spy") or (str(beside_python) if beside_python.exists() else None)


def profiler_start(*, pid: int, seconds: float) -> tuple[subprocess.Popen[bytes], Path] | None:
    """py-spy recording `pid` and its child processes for `seconds`, raw (collapsed stacks) into a file."""
    py_spy = _py_spy()
    if py_spy is None:
        print("BENCH_LOAD_PROFILE=1, but py-spy is not installed: no profile", flush=True)
        return None
    from bench.stack import LOG_DIR

    output = LOG_DIR / "web-profile.txt"
    command = [
        py_spy, "record", "--pid", str(pid), "--subprocesses", "--idle", "--nonblocking", "--rate", str(PROFILE_RATE),
        "--duration", str(math.ceil(seconds)), "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    log = (LOG_DIR / "py-spy.log").open("ab")
    try:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), output
    finally:
        log.close()


def profiler_stop(profiler: tuple[subprocess.Popen[bytes], Path] | None) -> Path | None:
    if profiler is None:
        return None
    process, output = profiler
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # behind in sampling on a busy machine: stopped as by Ctrl-C, it writes its file
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return output if output.exists() and output.stat().st_size else None


def _view_frame(label: str) -> tuple[str, str] | None:
    """(function name, file path ending) of the view that answers the endpoint `label` ("POST /path/<id>/")."""
    import inspect

    from django.urls import Resolver404, resolve

    method, _, pattern = label.partition(" ")
    if not pattern.startswith("/"):
        return None
    for sample in ("00000000-0000-4000-8000-000000000000", "1", "x"):
        try:
            match = resolve(re.sub(r"<[^>]+>", sample, pattern))
            break
        except Resolver404:
            continue
    else:
        return None
    view = getattr(match.func, "view_class", None)
    function = getattr(view, method.lower(), None) if view is not None else match.func
    code = getattr(inspect.unwrap(function), "__code__", None) if function is not None else None
    if code is None:
        return None
    return code.co_name, "/".join(Path(code.co_filename).parts[-2:])


def _stacks(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """py-spy's raw lines ("frame;frame;... count"), outermost frame first, as (function, file) pairs."""
    stacks = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = []
        for frame in text.split(";"):
            parsed = _FRAME.match(frame)
            if parsed:
                frames.append((parsed["function"], parsed["file"]))
        stacks.append((frames, int(count)))
    return stacks


def profile_summary(path: Path, label: str) -> list[str]:
    """The top functions of the endpoint's view in the profile (or of the whole server when no view answers it):
    inclusive (the share of its samples a function was on the stack, waiting included) and self (the innermost)."""
    stacks = _stacks(path)
    total = sum(count for _, count in stacks)
    view = _view_frame(label)
    selected: list[tuple[list[tuple[str, str]], int]] = []
    if view is not None:
        name, file = view
        for frames, count in stacks:
            at = next((i for i, (f, path_) in enumerate(frames) if f == name and path_.endswith(file)), None)
            if at is not None:
                selected.append((frames[at:], count))
    if not selected:
        selected, view = stacks, None
    samples = sum(count for _, count in selected)
    if not samples:
        return ["The profile holds no samples."]
    inclusive: Counter[tuple[str, str]] = Counter()
    innermost: Counter[tuple[str, str]] = Counter()
    for frames, count in selected:
        for frame in set(frames[1:]):  # below the view (whole server: below the thread's root)
            inclusive[frame] += count
        if frames:
            innermost[frames[-1]] += count

    def rows(counter: Counter[tuple[str, str]]) -> list[str]:
        return [
            f"| `{function}` ({file}) | {count / samples:.0%} |" for (function, file), count in counter.most_common()
        ][:PROFILE_TOP]

    source = (
        f"Profile (py-spy, {PROFILE_RATE} samples a second of every thread of the web processes over the measured "
        "window, waiting included; this run's latencies include its sampling): "
    )
    if view is None:
        return [
            source + f"no view of the portal answers `{label}`; the innermost functions of all {total:,} samples:",
            "",
            "| self | share |",
            "|---|---:|",
            *rows(innermost),
        ]
    return [
        source + f"`{label}`'s view was on the stack in {samples:,} of {total:,} samples ({samples / total:.0%}). "
        "Its top functions, by the share of those samples they were on the stack (inclusive) and innermost (self):",
        "",
        "| inclusive | share |",
        "|---|---:|",
        *rows(inclusive),
        "",
        "| self | share |",
        "|---|---:|",
        *rows(innermost),
    ]


# --- the run --------------------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    seconds: float
    stats: Stats
    books: Ledger
    events: list[FaultEvent]
    drained_in: float
    checks: list[tuple[str, bool, str]]
    profile: Path | None = None  # py-spy's raw samples of the web processes over the measured window


def _users(
    parties: Parties, base_url: str, stats: Stats, stop: threading.Event, books: Ledger, ready: threading.Barrier
) -> list[threading.Thread]:
    common = {"base_url": base_url, "stats": stats, "stop": stop, "books": books, "ready": ready}
    specs: list[tuple[Callable[..., None], dict[str, object]]] = []
    specs += [(browse, {}) for _ in range(USERS["browse"])]
    specs += [(buy, {"email": parties.customers[n], "slug": parties.product_slug}) for n in range(USERS["buy"])]
    specs += [
        (redeem, {"token": parties.dealer_tokens[n], "code": parties.code_tokens[n]}) for n in range(USERS["redeem"])
    ]
    specs += [
        (credit, {"token": parties.dealer_tokens[n], "email": parties.customers[USERS["buy"] + n]})
        for n in range(USERS["credit"])
    ]
    first_wallet = USERS["buy"] + USERS["credit"]
    specs += [
        (
            wallet,
            {
                "token": parties.dealer_tokens[n],
                "email": parties.customers[first_wallet + n],
                "holder": parties.wallet_credentials[n],
            },
        )
        for n in range(USERS["wallet"])
    ]
    specs += [(ocpp, {"station": parties.stations[n]}) for n in range(USERS["ocpp"])]

    def guarded(target: Callable[..., None], kwargs: dict[str, object]) -> None:
        try:
            target(**common, **kwargs)
        except GaveUp as error:
            stats.record(f"gave up: {target.__name__}", 0.0, ok=False)
            print(f"{target.__name__} gave up: {error}", flush=True)

    return [threading.Thread(target=guarded, args=spec, daemon=True) for spec in specs]


def prepare_database(
    *,
    admin_url: str = "",
    redis_url: str = "",
    broker_url: str = "",
) -> dict[str, str]:
    """A fresh database for the run; returns the environment the portal's processes share. The cache and broker are
    BENCH_LOAD_REDIS_URL and BENCH_LOAD_BROKER_URL, by default databases 11 and 10 of the machine's Redis (the one the
    fault run restarts)."""
    import psycopg

    redis_url = redis_url or os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
    broker_url = broker_url or os.environ.get("BENCH_LOAD_BROKER_URL", "redis://127.0.0.1:6379/10")
    admin_url = admin_url or os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    environment = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DATABASE_URL": admin_url.rsplit("/", 1)[0] + f"/{DATABASE_NAME}",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "TANGLE_ANCHOR_INTERVAL_SECONDS": "10",
        # Each simulated dealer opens and each simulated customer answers about one credit check a second, far above
        # what one person does; the per-user limits for people are raised so the run measures the work, not them.
        "API_THROTTLE_CREDIT_CHECK": "6000/minute",
        "CREDIT_CHECK_PAGE_RATE_PER_MINUTE": "6000",
    }
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    _redis_flush(environment["REDIS_URL"], environment["CELERY_BROKER_URL"])
    return environment


def _redis_flush(*urls: str) -> None:
    """Empties the run's cache and broker databases, so no earlier run's message or counter is left."""
    import redis

    for url in urls:
        redis.Redis.from_url(url).flushdb()


def run_load(
    *,
    seconds: float,
    faults: bool,
    services: dict[str, str] | None = None,
    stack_factory: Callable[[dict[str, str]], Stack] | None = None,
    schedule: Callable[..., None] | None = None,
    stats: Stats | None = None,
) -> RunResult:
    """The load, and the faults of ``schedule`` (default: `fault_schedule`) with ``faults``. ``services`` names the
    database, cache and broker (`prepare_database`'s arguments) and ``stack_factory`` starts the portal's processes
    from the shared environment (default: `Stack` on loopback): bench/partitions.py passes its namespaced hosts."""
    logging.getLogger("ocpp").setLevel(logging.WARNING)  # the simulated stations log every message at INFO
    environment = prepare_database(**(services or {}))
    parties = parties_create()
    stats, books, events = stats or Stats(), Ledger(), []
    stop = threading.Event()
    if stack_factory is None:

        def stack_factory(shared: dict[str, str]) -> Stack:
            return Stack(environment=shared, web_workers=WEB_WORKERS, worker_concurrency=WORKER_CONCURRENCY)

    with stack_factory(os.environ | environment) as stack:
        if USERS["wallet"]:
            wallet_credentials_issue(parties, stack.environment)
        ready = threading.Barrier(sum(USERS.values()) + 1)
        users = _users(parties, stack.base_url, stats, stop, books, ready)
        for user in users:
            user.start()
        ready.wait(timeout=120)  # every customer logged in: the measured window starts now
        began = time.monotonic()
        with stats.lock:
            stats.latencies.clear(), stats.errors.clear(), stats.retries.clear()
            stats.own_errors.clear(), stats.unavailable.clear(), stats.served.clear()
            stats.began = began
        web = getattr(stack, "processes", {}).get("web")
        profiler = profiler_start(pid=web.pid, seconds=seconds) if PROFILE and web is not None else None
        fault_thread = None
        if faults:
            fault_thread = threading.Thread(
                target=schedule or fault_schedule,
                args=(stack,),
                kwargs={"began": began, "stop": stop, "events": events},
            )
            fault_thread.start()
        stop.wait(seconds)
        stop.set()
        if fault_thread is not None:
            fault_thread.join()
        for user in users:
            user.join(timeout=120)
        elapsed = time.monotonic() - began
        profile = profiler_stop(profiler)
        drained_in = drain(timeout=DRAIN_SECONDS)
        checks = reconcile(books=books, tangle_url=stack.environment["TANGLE_NODE_URL"])
    return RunResult(elapsed, stats, books, events, drained_in, checks, profile)


def _backlog() -> dict[str, int]:
    from core.models import OutboxMessage
    from identity.models import AnchorLeaf
    from machines.models import ChargingSession
    from payments.models import SettlementItem

    return {
        "outbox not done": OutboxMessage.objects.exclude(state="done").count(),
        "settlement items open": SettlementItem.objects.exclude(state__in=["settled", "rejected"]).count(),
        "leaves not anchored": AnchorLeaf.objects.exclude(state="anchored").count(),
        "sessions ended, not settled": ChargingSession.objects.filter(status="ended").count(),
    }


def drain(*, timeout: float) -> float:
    """Waits until the worker has finished everything the load left behind; returns the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if not any(_backlog().values()):
            break
        time.sleep(2)
    return time.monotonic() - began


def reconcile(*, books: Ledger, tangle_url: str) -> list[tuple[str, bool, str]]:
    """Each check: (what, passed, figures)."""
    from django.db.models import Count, Sum

    from core.models import OutboxMessage
    from identity.models import AnchorBatch, AnchorLeaf
    from identity.tangle.anchor import get_anchor
    from machines.models import ChargingInvoice, ChargingSession
    from payments.ledger.selectors import account_get, reconciliation_report
    from payments.models import CheckoutOrder, QrRedemption, SettlementItem, Transfer

    checks: list[tuple[str, bool, str]] = []
    totals = reconciliation_report()
    checks.append(
        (
            "ledger balanced: debits = credits, pending and posted, in every ledger",
            all(total.is_balanced for total in totals),
            "; ".join(
                f"{t.ledger}: {t.debits_posted:,} = {t.credits_posted:,} posted, {t.debits_pending:,} = "
                f"{t.credits_pending:,} pending"
                for t in totals
            ),
        )
    )
    redemptions = QrRedemption.objects.filter(public_id__in=list(books.captured_redemptions))
    settlement_ids = list(redemptions.values_list("settlement_transfer_id", flat=True))
    items = SettlementItem.objects.filter(pending_transfer_id__in=settlement_ids)
    posts = Transfer.objects.filter(pending_id__in=settlement_ids).values("pending_id").annotate(n=Count("id"))
    posted_twice = sum(1 for row in posts if row["n"] > 1)
    settled = items.filter(state="settled").count()
    checks.append(
        (
            "every captured redemption settled to its dealer exactly once",
            redemptions.filter(status="captured").count() == len(books.captured_redemptions) == settled == len(posts)
            and posted_twice == 0,
            f"{len(books.captured_redemptions)} captures answered 200; {settled} settlement items settled; "
            f"{len(posts)} settlement posts; {posted_twice} posted twice",
        )
    )
    orders = CheckoutOrder.objects.filter(public_id__in=list(books.paid_orders))
    paid = orders.filter(status="paid", code__isnull=False).count()
    checks.append(
        (
            "every approved card payment paid its order and issued one code (webhook delivered through the worker)",
            paid == len(books.paid_orders),
            f"{len(books.paid_orders)} card payments approved; {paid} orders paid with a code",
        )
    )
    leaves = AnchorLeaf.objects.filter(leaf_hash__in=list(books.credentials))
    anchored = leaves.filter(state="anchored", batch__state="anchored").count()
    anchor = get_anchor(tangle_url)
    batches = AnchorBatch.objects.filter(state="anchored")
    on_tangle = sum(1 for batch in batches if anchor.is_anchored(batch.block_id, bytes.fromhex(batch.root)))
    roots_twice = AnchorBatch.objects.values("root").annotate(n=Count("id")).filter(n__gt=1).count()
    checks.append(
        (
            "every issued credential anchored exactly once, and every anchored root is on the Tangle node",
            anchored == len(books.credentials) and on_tangle == batches.count() and roots_twice == 0,
            f"{len(books.credentials)} credentials issued; {anchored} leaves anchored (one row per leaf, unique); "
            f"{batches.count()} batches anchored, {on_tangle} found on the node",
        )
    )
    sessions = ChargingSession.objects.filter(station__station_id__startswith="LOAD-")
    done = {(s.station.station_id, int(s.transaction_id)) for s in sessions.select_related("station")}
    invoices = ChargingInvoice.objects.filter(session__in=sessions)
    invoiced = invoices.aggregate(total=Sum("charged_amount"))["total"] or 0
    operator_credit = 0
    if sessions.exists():
        operator_credit = account_get(account_id=sessions.first().station.operator.account_id).credits_posted
    settled_sessions = sessions.filter(status="settled").count()
    still_holding = sessions.filter(status="active").count()  # a start the station lost track of keeps its hold
    checks.append(
        (
            "every charging session settled exactly once, none left holding the wallet; the operator got what was invoiced",
            books.sessions <= done
            and settled_sessions == invoices.count() == len(books.sessions)
            and invoiced == operator_credit
            and still_holding == 0,
            f"{len(books.sessions)} sessions stopped; {settled_sessions} settled; {invoices.count()} invoices "
            f"(one per session by constraint); invoiced {invoiced:,} = operator credited {operator_credit:,} cents; "
            f"{still_holding} sessions left charging",
        )
    )
    from credit_checks.models import CreditCheckRequest

    answered = CreditCheckRequest.objects.filter(public_id__in=list(books.wallet_answers))
    outcomes = Counter(answered.values_list("verdict__outcome", flat=True))
    checks.append(
        (
            f"every OpenID4VP answer the portal accepted gave its credit check the verdict `{EXPECTED_VERDICT}`",
            outcomes[EXPECTED_VERDICT] == len(books.wallet_answers),
            f"{len(books.wallet_answers)} wallet answers accepted; verdicts: "
            + (", ".join(f"{outcome or 'none'} {n}" for outcome, n in sorted(outcomes.items(), key=str)) or "none"),
        )
    )
    backlog = OutboxMessage.objects.exclude(state="done").count()
    checks.append(("outbox empty", backlog == 0, f"{backlog} messages not done"))
    return checks


def own_errors_check(stats: Stats) -> tuple[str, bool, str]:
    """No request answered with a 5xx of the portal's own; its deliberate 503s ("unavailable, send again", with a
    code: readiness while a dependency is down, a credit check whose anchor the Tangle node cannot confirm) are
    counted, not failed."""
    own = sum(stats.own_errors.values())
    unavailable = ", ".join(f"`{label}` {n}" for label, n in sorted(stats.unavailable.items())) or "none"
    errors = ", ".join(f"`{label}` {n}" for label, n in sorted(stats.own_errors.items())) or "none"
    return (
        "no request answered with a 5xx of the portal's own (500, 502, 504 from a portal process)",
        own == 0,
        f"{own} own 5xx ({errors}); deliberate 503 answers: {unavailable}",
    )


# --- reports --------------------------------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def endpoint_table(result: RunResult) -> list[str]:
    rows = [
        "| endpoint | requests | errors | retried | requests/s | p50 | p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(result.stats.latencies.items(), key=lambda item: -_percentile(item[1], 0.99))
    for label, values in ordered:
        rows.append(
            f"| `{label}` | {len(values):,} | {result.stats.errors[label]} | {result.stats.retries[label]} | "
            f"{len(values) / result.seconds:.1f} | {statistics.median(values) * 1000:.1f} ms | "
            f"{_percentile(values, 0.99) * 1000:.1f} ms |"
        )
    total = sum(len(values) for values in result.stats.latencies.values())
    rows.append(
        f"| **all** | {total:,} | {sum(result.stats.errors.values())} | "
        f"{sum(result.stats.retries.values())} | {total / result.seconds:.1f} | | |"
    )
    return rows


def setup_line() -> str:
    return (
        f"One PostgreSQL database; uvicorn with {WEB_WORKERS} worker processes (`core.serving`); one Celery worker with "
        f"{WORKER_CONCURRENCY} pool processes; beat; the Tangle dev node; Redis as broker, cache and channel layer. "
        f"Users at once: {USERS['browse']} browsing, {USERS['buy']} buying codes by card, {USERS['redeem']} dealers "
        f"redeeming and capturing, {USERS['credit']} dealer/customer pairs running credit checks answered on the "
        f"check's page and {USERS['wallet']} answered by a wallet app over OpenID4VP, {USERS['ocpp']} "
        "charging stations running OCPP 1.6J sessions. All on the same 2-core machine as the load generator."
    )


def slowest(result: RunResult) -> str:
    label, values = max(
        ((label, values) for label, values in result.stats.latencies.items() if not label.startswith("gave up")),
        key=lambda item: _percentile(item[1], 0.99),
    )
    return f"`{label}` (p99 {_percentile(values, 0.99) * 1000:.0f} ms)"


# Why an endpoint is the slowest when it is, from py-spy profiles of the web processes during a load run.
_QUEUEING = (
    " Each uvicorn process runs the portal's synchronous views in threads that share one interpreter lock, and the "
    "two cores also carry the worker, beat, PostgreSQL and the load generator, so most of a p99 above the p50 is "
    "waiting for CPU behind other requests, not work of its own."
)
SLOWEST_EXPLAINED: dict[str, str] = {
    "POST /api/payments/qr-redemptions/<id>/capture": "The capture is the request that writes the most: in one "
    "transaction it posts the authorization and opens the dealer's pending settlement transfer as a linked pair "
    "(four account rows locked in a fixed order), writes the settlement item and its outbox row, releases the rest "
    "of the hold and hands the outbox message to Redis after commit; the run's profile (below) shows how much of "
    "it is waiting for PostgreSQL (psycopg's `wait`: those row locks and the COMMIT) and sending statements."
    + _QUEUEING,
    "POST /api/payments/qr-redemptions": "An authorization verifies the Ed25519 token, locks the code, creates a "
    "pending ledger transfer (two account rows locked) and stores the Idempotency-Key." + _QUEUEING,
    "POST /identity/credit-checks/respond/<link>/": "Answering a credit check verifies an SD-JWT presentation: the "
    "issuer's Ed25519 signature, the key-binding JWT, the status list and the anchor, then applies the policy and "
    "writes verdict, consent receipt and webhook outbox row." + _QUEUEING,
    "POST /openid4vp/response/<id>": "A wallet's OpenID4VP answer costs three public-key operations (ECDH to "
    "decrypt the direct_post.jwt answer, the issuer's signature, the key-binding ES256) and, under the transaction's "
    "row lock, the status-list and anchor lookups, the replay checks on the response and presentation hashes and the "
    "verdict with its consent receipt and webhook outbox row." + _QUEUEING,
    "GET /identity/credit-checks/respond/<link>/": "The customer's page of a credit check binds the check to the "
    "customer under a row lock and renders the disclosure text with the OpenID4VP wallet links, whose context also "
    "draws the request's QR code." + _QUEUEING,
    "GET /leasing/": "The lease calculator renders its form and every active product with its mileage bands and "
    "service packages, read in four statements; in a profile of a load run "
    "(2026-12-07) 98% of the view's samples were inside template rendering and a third of those waited for "
    "PostgreSQL or sent a statement (seven statements then, a server-side cursor among them)." + _QUEUEING,
    "POST /api/identity/wallet/credentials": "Issuing a credential takes the next revocation and suspension bits "
    "of the issuer's status lists under a row lock held until commit (every demo credential comes from the one demo "
    "credit bureau, so concurrent issuances queue on those two rows, each carrying its 16 KB bitstring), opens the "
    "issuer's encrypted signing key, signs the SD-JWT VC and records its salted leaf for anchoring." + _QUEUEING,
}


def checks_table(result: RunResult) -> list[str]:
    rows = ["| check | result | figures |", "|---|---|---|"]
    rows += [f"| {what} | {'pass' if ok else 'FAIL'} | {figures} |" for what, ok, figures in result.checks]
    return rows


def benchmark_section(result: RunResult) -> str:
    """The section of docs/benchmarks.md for a load run without faults."""
    label = slowest(result)
    return "\n".join(
        [
            "## Load: the portal under a mixed workload",
            "",
            setup_line(),
            f"The load ran {result.seconds:.0f} s after every user had logged in; endpoints are sorted by p99, "
            "slowest first. Every request is a real one: a redemption is a ledger authorization, a capture requests "
            "the dealer's settlement, a card payment is confirmed by a signed webhook from the worker, a credential "
            "is signed and queued for anchoring, an OCPP session is held, metered, settled and invoiced.",
            "",
            *endpoint_table(result),
            "",
            f"Slowest endpoint: {label}. {SLOWEST_EXPLAINED.get(label.split('`')[1], '')}",
            "",
            *([*profile_summary(result.profile, label.split("`")[1]), ""] if result.profile else []),
            f"Reconciliation after the run (drained in {result.drained_in:.0f} s):",
            "",
            *checks_table(result),
        ]
    )


def run() -> str:
    """`make bench` section: the load run without faults, in its own process and database (the bench process has
    Django set up already, with other settings)."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".md") as section:
        subprocess.run(
            [sys.executable, "-m", "bench.load", "--seconds", f"{SECONDS:g}", "--section", section.name],
            check=True,
            env={
                key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
            },
        )
        return Path(section.name).read_text()


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--report", default="", help="write the Markdown report to this file")
    parser.add_argument("--section", default="", help="write the docs/benchmarks.md section to this file")
    arguments = parser.parse_args()
    result = run_load(seconds=arguments.seconds, faults=arguments.faults)
    if arguments.section:
        Path(arguments.section).write_text(benchmark_section(result))
        return 0 if all(ok for _, ok, _ in result.checks) else 1
    lines = [
        "## Last fault run" if arguments.faults else "## Last load run",
        "",
        f"`{' '.join(['python -m bench.load', *sys.argv[1:]])}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. "
        + setup_line(),
        "",
        f"Load ran {result.seconds:.0f} s; the portal drained its backlog in {result.drained_in:.0f} s afterwards.",
        "",
        "| at | fault | detail |",
        "|---|---|---|",
        *[f"| {e.at_seconds:.0f} s | {e.fault} | {e.detail} |" for e in result.events],
        "",
        "Requests during the run (failed attempts include refused connections while a process was down; every "
        "client retried until answered):",
        "",
        *endpoint_table(result),
        "",
        "`GET /health/ready` answers 503 while Redis or the Tangle node is down, which is its job; those answers "
        "count as failed attempts above.",
        "",
        "Reconciliation after the run:",
        "",
        *checks_table(result),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if arguments.report:
        from bench.__main__ import _replace_section

        target = Path(arguments.report)
        text = target.read_text() if target.exists() else ""
        target.write_text(_replace_section(text, lines[0], report) if text else report)
    return 0 if all(ok for _, ok, _ in result.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
