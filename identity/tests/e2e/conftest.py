"""Fixtures of the browser-wallet tests: the live server as issuer and verifier, pages of fresh browser contexts."""

from __future__ import annotations

import pytest


@pytest.fixture
def portal_at_live_server(settings, live_server) -> str:
    """The live server is the portal's credential issuer and verifier (the wallet page reaches only its own origin;
    the verifier's client id is then ``x509_san_dns:localhost``)."""
    settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def new_page(_playwright_browser, live_server):
    """Pages of fresh browser contexts (another device: no IndexedDB, no cookies), closed after the test."""
    contexts = []

    def make(**options):
        context = _playwright_browser.new_context(base_url=live_server.url, accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()
