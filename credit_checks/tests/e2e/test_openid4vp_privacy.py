"""Acceptance: nothing personal kept. A bureau's credit-history credential full of personal values and figures the
credit check does not ask for (name, birth date, address, income, negative records, the bureau's policy) goes to the
independent wallet over OpenID4VCI and is presented over OpenID4VP; afterwards no table, no log line and no Redis
key or value holds any of them. The credential is signed ES256 with an x5c chain, so this also runs the X.509 path
of the verifier end to end."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings

from accounts.roles import Role
from credit_checks.models import CreditCheckRequest, CreditCheckVerdict
from credit_checks.services import credit_check_claim, credit_check_request_create
from credit_checks.tests.e2e.test_openid4vp_wallet import offer
from identity.openid4vci import certificates, configurations
from identity.openid4vci.configurations import ClaimDisplay, CredentialConfiguration, SignedBy
from identity.openid4vp.verifier import authorization_request_links
from identity.tests.openid4vci.wallet_harness import run_wallet
from identity.tests.test_privacy import occurrences

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "Philippa Quennington-Marsh"
BIRTH_DATE = "1958-02-27"
ADDRESS = "Zypressenweg 417, 26789 Leer"
INCOME = 91_357_00
NEGATIVE_RECORDS = "two-defaults-QX81"
POLICY = "https://bureau.test/policies/qx-8813"
CEILING = 64_375  # disclosed on purpose: the verdict keeps it (credit_checks.models)
NEEDLES = [NAME, "Quennington", BIRTH_DATE, ADDRESS, "Zypressenweg", str(INCOME), NEGATIVE_RECORDS, POLICY]
CONFIGURATION_ID = "PrivacyTestCreditHistoryCredential"


@pytest.fixture
def bureau_configuration():
    """A credit history with personal values beside the two result claims, signed by the portal's X.509 key."""
    configurations.credential_configuration_register(
        CredentialConfiguration(
            configuration_id=CONFIGURATION_ID,
            credential_type="CreditHistoryCredential",
            type_name="privacy-test-credit-history",
            name="Credit history (privacy test)",
            description="A credit history with personal values the credit check must never keep.",
            claims=(ClaimDisplay("scoreBand", "Score band"),),
            claims_for=lambda user: {
                "scoreBand": "B",
                "affordabilityCeilingPerMonth": {"amountMinor": CEILING, "currency": "EUR"},
                "holderName": NAME,
                "birthDate": BIRTH_DATE,
                "address": ADDRESS,
                "annualIncomeMinor": INCOME,
                "negativeRecordBand": NEGATIVE_RECORDS,
                "issuerPolicy": POLICY,
            },
            signed_by=SignedBy.PORTAL_X509,
            validity=timedelta(days=30),
        )
    )
    yield
    configurations._REGISTRY.pop(CONFIGURATION_ID)  # a test-only configuration


def redis_findings(needles: list[str]) -> list[tuple[str, str]]:
    """(url, key) of every Redis key of the test's cache and broker databases whose name or value holds a needle."""
    found = []
    for url in {django_settings.REDIS_URL, django_settings.CELERY_BROKER_URL}:
        if not url.startswith("redis"):
            continue
        connection = redis.Redis.from_url(url)
        for key in connection.scan_iter(count=500):
            kind = connection.type(key)
            if kind == b"string":
                values = [connection.get(key) or b""]
            elif kind == b"list":
                values = connection.lrange(key, 0, -1)
            elif kind == b"hash":
                values = list(connection.hgetall(key).values())
            elif kind == b"set":
                values = list(connection.smembers(key))
            else:
                values = []
            text = b" ".join([key, *values])
            found += [(url, key.decode(errors="replace")) for needle in needles if needle.encode() in text]
    return found


def test_no_personal_value_or_undisclosed_figure_is_kept_after_an_openid4vp_credit_check(
    settings, live_server, make_user, caplog, bureau_configuration
):
    caplog.set_level(logging.DEBUG)
    settings.OPENID4VCI_CREDENTIAL_ISSUER = live_server.url
    settings.PORTAL_BASE_URL = live_server.url
    customer, dealer = make_user(Role.CUSTOMER), make_user(Role.DEALER)
    ca_pem = certificates.certificate_pem_of_ca()
    link, pin = offer(customer, CONFIGURATION_ID)
    issued = run_wallet({"flow": "pre-authorized", "offer": link, "txCode": pin, "caPem": ca_pem})
    assert issued["ok"] is True, issued
    assert issued["verified"]["header"]["alg"] == "ES256"
    request = credit_check_request_create(
        dealer_user=dealer, purpose="lease", amount=450_00, currency="EUR", term_months=36
    )
    credit_check_claim(link_token=request.link_token, customer=customer)
    request.refresh_from_db()

    answer = run_wallet(
        {
            "link": authorization_request_links(request.presentation_transaction).wallet_link,
            "credential": issued["credential"],
            "holderPrivateJwk": issued["holderPrivateJwk"],
            "caPem": ca_pem,
        },
        script="present.mjs",
    )

    assert answer["ok"] is True, answer
    verdict = CreditCheckVerdict.objects.get(request=CreditCheckRequest.objects.get())
    assert (verdict.outcome, verdict.disclosed_score_band, verdict.disclosed_ceiling) == ("approved", "B", CEILING)
    assert occurrences(NEEDLES) == {}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert [needle for needle in NEEDLES if needle in logged] == []
    assert redis_findings(NEEDLES) == []
