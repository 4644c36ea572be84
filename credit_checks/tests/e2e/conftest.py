"""The browser-wallet fixtures (live server as issuer and verifier, fresh browser contexts) for the credit check's
browser tests."""

from identity.tests.e2e.conftest import new_page, portal_at_live_server

__all__ = ["new_page", "portal_at_live_server"]
