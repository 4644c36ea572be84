"""One verification reads its issuer's registry row once; the next verification reads it again, so a suspended
issuer is refused at once."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from identity.credentials.core import CredentialError, Reason
from identity.credentials.encoding import b64url_decode
from identity.models import TrustedIssuer
from identity.services.registry import trusted_issuer_suspend
from identity.services.verification import sd_jwt_vc_presentation_verify
from identity.tests.openid4vp.holder import credential_for, present

pytestmark = pytest.mark.django_db
BASE = "https://portal.test"
AUDIENCE = "x509_san_dns:portal.test"
CREDIT = ("scoreBand", "affordabilityCeilingPerMonth")


@pytest.fixture
def presented(settings) -> tuple[str, str]:
    """(presentation of the demo bureau's credit history, the bureau's DID)."""
    import json

    settings.PORTAL_BASE_URL = BASE
    settings.OPENID4VCI_CREDENTIAL_ISSUER = BASE
    holder = ec.generate_private_key(ec.SECP256R1())
    credential = credential_for(UserFactory(), configuration_id="DemoCreditHistoryCredential", holder=holder)
    issuer = json.loads(b64url_decode(credential.split(".")[1]))["iss"]
    return present(credential, holder=holder, disclose=CREDIT, nonce="n-1", audience=AUDIENCE), issuer


def _registry_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "identity_trustedissuer"' in query["sql"] for query in queries.captured_queries)


def test_a_verification_reads_its_issuers_registry_row_once(presented):
    vp, issuer = presented
    assert TrustedIssuer.objects.get(did=issuer).is_hosted

    with CaptureQueriesContext(connection) as queries:
        verified = sd_jwt_vc_presentation_verify(presentation=vp, nonce="n-1", audience=AUDIENCE)

    assert verified.credential.claims["scoreBand"] == "B"
    assert _registry_reads(queries) == 1


def test_an_issuer_suspended_between_two_verifications_is_refused_by_the_second(presented):
    vp, issuer = presented
    sd_jwt_vc_presentation_verify(presentation=vp, nonce="n-1", audience=AUDIENCE)
    trusted_issuer_suspend(issuer=TrustedIssuer.objects.get(did=issuer))

    with pytest.raises(CredentialError) as refused:
        sd_jwt_vc_presentation_verify(presentation=vp, nonce="n-1", audience=AUDIENCE)

    assert refused.value.reason is Reason.UNTRUSTED_ISSUER
