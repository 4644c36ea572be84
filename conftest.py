"""Fixtures shared by every app's tests: users per role and clients logged in as them."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from hypothesis import core as hypothesis_core
from hypothesis import settings as hypothesis_settings
from hypothesis.vendor import pretty as hypothesis_pretty

from accounts import services
from accounts.models import User
from accounts.roles import Role
from accounts.tests.factories import DealerOrganisationFactory, UserFactory
from identity.services.anchor_confirmation import confirmed_roots
from identity.services.trust_anchors import portal_anchors_seen

# Hypothesis profiles. "dev" (a developer's machine) draws new random examples on every run and keeps the failing ones
# in .hypothesis/ to replay them first next time. "ci" derandomizes: the examples follow from each test's source, so
# CI runs the same examples every time and fails only when the code (or the test) changed, never at random; a failure
# prints its `@reproduce_failure` blob as well. No deadline anywhere: a test's speed depends on the machine.
# HYPOTHESIS_PROFILE chooses one explicitly; otherwise a set `CI` variable (the CI entry point exports CI=true)
# selects "ci".
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True)
hypothesis_settings.register_profile(
    "ci", parent=hypothesis_settings.get_profile("dev"), derandomize=True, database=None
)


def hypothesis_profile_name(environ: dict[str, str]) -> str:
    if environ.get("HYPOTHESIS_PROFILE"):
        return environ["HYPOTHESIS_PROFILE"]
    return "ci" if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no") else "dev"


hypothesis_settings.load_profile(hypothesis_profile_name(dict(os.environ)))


@pytest.fixture(autouse=True, scope="session")
def _hypothesis_prints_failing_examples() -> None:
    """schemathesis swaps Hypothesis's printer for one that prints nothing (it saves time in its own fuzzing) when its
    test builder is first imported, which its pytest plugin does as the first test is called: every failing property
    test then reported "Falsifying example: test(case=,)" with the values missing. The builder is imported here, before
    the first test (not while conftest loads: Hypothesis warns about work done then), and Hypothesis's printer is put
    back. Hypothesis prints only a failing example (or in verbose mode), so this costs nothing on a passing run."""
    importlib.import_module("schemathesis.generation.hypothesis.builder")
    hypothesis_core.RepresentationPrinter = hypothesis_pretty.RepresentationPrinter


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request handled by an earlier test (LocaleMiddleware) or
    an `activate` it made would otherwise leave German active in this thread for code that runs outside a request."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate-limit and lockout counters live in the cache; each test starts from none (this run's keys only)."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    # Roots the Tangle confirmed are remembered per process; each test asks its own (or in-memory) node afresh.
    confirmed_roots.clear()
    # So is that the portal's CA is an anchor already: a test's rolled-back database may not hold that row.
    portal_anchors_seen.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: Role = Role.CUSTOMER, **kwargs: object) -> User:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def customer(make_user: Callable[..., User]) -> User:
    return make_user(Role.CUSTOMER)


@pytest.fixture
def dealer_organisation(db: None):
    return DealerOrganisationFactory()


@pytest.fixture
def dealer(make_user: Callable[..., User], dealer_organisation) -> User:
    return make_user(Role.DEALER, dealer_organisation=dealer_organisation)


@pytest.fixture
def back_office(make_user: Callable[..., User]) -> User:
    return make_user(Role.BACK_OFFICE)


def login_client(user: User) -> Client:
    """A test client logged in as `user`, past the second factor for the roles that need one."""
    client = Client()
    client.force_login(user)
    if user.role in (Role.DEALER, Role.BACK_OFFICE):
        device = services.totp_device_create_confirmed(user=user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    return login_client


ARTIFACTS_DIR = Path(__file__).resolve().parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def _playwright_browser():
    """Debian's Chromium driven by Playwright; a missing browser fails the test, it never skips it.

    Module-scoped: Playwright's sync API keeps an event loop running while it is started, which would stop other
    modules' tests from calling asyncio.run().
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test-prerequisites does).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django's ORM calls from the test body are
    # still synchronous and safe, so its async-context guard is lifted while the browser module runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(_playwright_browser, live_server):
    """A fresh browser page against the live test server."""
    context = _playwright_browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """Saves a full-page screenshot under test-artifacts/screenshots/<test>-<step>.png."""
    folder = ARTIFACTS_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, step: str) -> Path:
        path = folder / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
