from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.tests.factories import UserFactory
from identity.openid4vci import certificates

TEST_CLIENT_ID = "finlab-test-wallet"
TEST_REDIRECT_URI = "https://wallet.test/callback"


@pytest.fixture
def issuer_url(settings, live_server) -> str:
    """The live server is the credential issuer (its http origin; the wallet allows insecure URLs in tests) and
    publishes the status lists the credentials point at (the wallet fetches and checks the Status List Token)."""
    settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def customer():
    return UserFactory()


@pytest.fixture
def ca_pem(issuer_url) -> str:
    return certificates.certificate_pem_of_ca()


def customer_browser(user) -> requests.Session:
    """An HTTP session logged in as ``user`` (the cookie of a test client's forced login)."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def consent(browser: requests.Session, url: str, *, decision: str = "allow") -> str:
    """Open the authorization page, press Allow (or Refuse); returns the redirect URL the wallet gets."""
    page = browser.get(url, allow_redirects=False, timeout=30)
    assert page.status_code == 200, page.text[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {name: value.replace("&amp;", "&") for name, value in fields.items()}
    fields["decision"] = decision
    answer = browser.post(url.split("?", 1)[0], data=fields, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def code_of(redirect: str) -> str:
    return parse_qs(urlsplit(redirect).query)["code"][0]
