"""The IETF Token Status List beside the W3C Bitstring Status List: the issuer publishes a signed Status List Token
per revocation list, the SD-JWT VCs it issues point at both lists, and the verifier's status check reads both."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from identity.credentials import jose, x509
from identity.credentials.token_status_list import TokenStatusList, status_list_token_check
from identity.models import CredentialRecord, IssuanceAccessToken, StatusList, TrustAnchor
from identity.openid4vci import grants, issuance
from identity.services import status, trust_anchors
from identity.services.status import sd_jwt_status_reason

pytestmark = pytest.mark.django_db
ISSUER = "https://portal.test"


@pytest.fixture(autouse=True)
def _issuer(settings):
    settings.OPENID4VCI_CREDENTIAL_ISSUER = ISSUER
    settings.PORTAL_BASE_URL = ISSUER


def issued_claims(configuration_id: str) -> dict:
    """Issue through the OpenID4VCI credential endpoint's service; the issuer-signed payload (every claim the
    status check reads is always disclosed)."""
    made = grants.credential_offer_create(user=UserFactory(), configuration_ids=[configuration_id], issuer_url=ISSUER)
    code = made.credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    granted = grants.pre_authorized_code_exchange(code=code["pre-authorized_code"], tx_code=made.tx_code)
    token = IssuanceAccessToken.objects.get(token_hash=grants.value_hash(granted.access_token))
    holder = Ed25519PrivateKey.generate()
    nonce, _ = grants.nonce_create()
    proof = jose.sign_compact(
        header={"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "jwk": jose.public_jwk(holder.public_key())},
        payload={"aud": ISSUER, "iat": int(time.time()), "nonce": nonce},
        private_key=holder,
    )
    holder_key = issuance.key_proof_verify(proof_jwt=proof, now=timezone.now())
    credential = issuance.credential_issue(
        token=token, configuration_id=configuration_id, holder_key=holder_key, now=timezone.now()
    )
    return jose.decode_compact(credential.split("~")[0])[1]


def record_of(claims: dict) -> CredentialRecord:
    return CredentialRecord.objects.get(credential_id=claims["jti"])


def only_token_status(claims: dict) -> dict:
    return {name: value for name, value in claims.items() if name != "credentialStatus"}


def only_bitstring_status(claims: dict) -> dict:
    return {name: value for name, value in claims.items() if name != "status"}


def test_an_issued_sd_jwt_vc_points_at_both_lists_and_the_token_is_published(client):
    claims = issued_claims("PaymentHistoryCredential")
    record = record_of(claims)

    reference = claims["status"]["status_list"]
    list_id = record.revocation_list.list_id
    assert reference == {"idx": record.revocation_index, "uri": f"{ISSUER}/credentials/token-status/{list_id}"}
    assert [entry["statusPurpose"] for entry in claims["credentialStatus"]] == ["revocation", "suspension"]
    response = client.get(f"/credentials/token-status/{list_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/statuslist+jwt"
    header, payload, signing_input, signature = jose.decode_compact(response.content.decode())
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
    leaf = x509.certificate_chain_verify(
        chain=x509.x5c_decode(header["x5c"]),
        trust_anchors=trust_anchors.trust_anchors_for("PaymentHistoryCredential"),
        at=timezone.now(),
    )
    jose.signature_verify(
        algorithm="ES256", public_key=leaf.public_key(), signing_input=signing_input, signature=signature
    )
    assert payload["sub"] == reference["uri"] and payload["ttl"] == status.TOKEN_TTL_SECONDS
    assert payload["exp"] - payload["iat"] == int(status.TOKEN_LIFETIME.total_seconds())
    checked = status_list_token_check(header=header, payload=payload, uri=reference["uri"], now=timezone.now())
    assert checked.status_list.bits == 2 and checked.status_list.size == 131_072
    assert checked.status_list.get(reference["idx"]) == 0
    assert client.get(f"/credentials/token-status/{record.suspension_list.list_id}").status_code == 404
    assert sd_jwt_status_reason(claims, now=timezone.now()) is None


def test_revocation_is_refused_through_the_token_status_list_alone_and_the_bitstring_alone():
    claims = issued_claims("PaymentHistoryCredential")
    now = timezone.now()
    assert sd_jwt_status_reason(only_token_status(claims), now=now) is None
    assert sd_jwt_status_reason(only_bitstring_status(claims), now=now) is None

    status.credential_revoke(record=record_of(claims))
    cache.clear()  # a verifier that cached the list before the revocation learns of it after the ttl

    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "revoked"
    assert sd_jwt_status_reason(only_bitstring_status(claims), now=timezone.now()) == "revoked"
    assert sd_jwt_status_reason(claims, now=timezone.now()) == "revoked"


def test_suspension_flips_both_lists_and_lifting_it_clears_both():
    claims = issued_claims("DemoIdentityCredential")  # signed by the hosted demo KYC issuer, its lists by its did:key
    token = StatusList.objects.get(pk=record_of(claims).revocation_list_id).status_token
    assert jose.decode_compact(token)[0]["kid"].startswith(claims["iss"] + "#")

    status.credential_suspension_set(record=record_of(claims), is_suspended=True)
    cache.clear()
    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "suspended"
    assert sd_jwt_status_reason(only_bitstring_status(claims), now=timezone.now()) == "suspended"

    status.credential_suspension_set(record=record_of(claims), is_suspended=False)
    cache.clear()
    assert sd_jwt_status_reason(claims, now=timezone.now()) is None


def test_a_checked_token_is_cached_for_its_ttl_only():
    claims = issued_claims("PaymentHistoryCredential")
    now = timezone.now()
    assert sd_jwt_status_reason(only_token_status(claims), now=now) is None

    status.credential_revoke(record=record_of(claims))

    assert sd_jwt_status_reason(only_token_status(claims), now=now + timedelta(seconds=60)) is None
    later = now + timedelta(seconds=status.TOKEN_TTL_SECONDS + 1)
    assert sd_jwt_status_reason(only_token_status(claims), now=later) == "revoked"


def test_a_token_not_signed_by_the_credentials_issuer_or_for_another_uri_is_unverifiable():
    claims = issued_claims("PaymentHistoryCredential")
    status_list = StatusList.objects.get(pk=record_of(claims).revocation_list_id)
    header, payload, _input, _signature = jose.decode_compact(status_list.status_token)
    stranger = x509.generate_p256_key()
    forged = jose.sign_compact(header=header, payload=payload, private_key=stranger)
    StatusList.objects.filter(pk=status_list.pk).update(status_token=forged)
    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "status_unverifiable"

    signer = status._token_signer(status_list.issuer_did)[0]
    moved = jose.sign_compact(header=header, payload=payload | {"sub": f"{ISSUER}/elsewhere"}, private_key=signer)
    StatusList.objects.filter(pk=status_list.pk).update(status_token=moved)
    cache.clear()
    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "status_unverifiable"

    StatusList.objects.filter(pk=status_list.pk).update(status_token=status_list.status_token)
    cache.clear()
    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) is None


def test_a_token_chained_to_a_suspended_anchor_is_unverifiable():
    claims = issued_claims("PaymentHistoryCredential")
    trust_anchors.portal_trust_anchor_ensure()
    anchor = TrustAnchor.objects.get(name=trust_anchors.PORTAL_ANCHOR_NAME)
    assert anchor.credential_types == ["PaymentHistoryCredential"] and anchor.added_by is None
    trust_anchors.trust_anchor_suspend(anchor=anchor, suspended_by=UserFactory())

    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "status_unverifiable"


def test_a_stale_token_is_re_signed_when_served_and_an_unknown_index_is_unverifiable(client):
    claims = issued_claims("PaymentHistoryCredential")
    status_list = StatusList.objects.get(pk=record_of(claims).revocation_list_id)
    old_token = status_list.status_token
    StatusList.objects.filter(pk=status_list.pk).update(status_token_expires_at=timezone.now() + timedelta(hours=1))

    served = client.get(f"/credentials/token-status/{status_list.list_id}").content.decode()

    assert served != old_token
    status_list.refresh_from_db()
    assert status_list.status_token == served
    assert status_list.status_token_expires_at > timezone.now() + timedelta(hours=23)
    beyond = claims | {"status": {"status_list": {"idx": 131_072, "uri": claims["status"]["status_list"]["uri"]}}}
    assert sd_jwt_status_reason(only_token_status(beyond), now=timezone.now()) == "status_unverifiable"
    broken = claims | {"status": {"status_list": {"idx": "7"}}}
    assert sd_jwt_status_reason(broken, now=timezone.now()) == "status_unverifiable"


def test_a_bitstring_entry_of_the_portals_reads_the_one_byte_of_its_index():
    claims = only_bitstring_status(issued_claims("PaymentHistoryCredential"))
    record = record_of(claims)
    status.credential_revoke(record=record)
    revoked = record.revocation_index

    def at(index: int) -> dict:
        entries = [
            entry | {"statusListIndex": str(index)} if entry["statusPurpose"] == "revocation" else entry
            for entry in claims["credentialStatus"]
        ]
        return claims | {"credentialStatus": entries}

    with CaptureQueriesContext(connection) as queries:
        assert sd_jwt_status_reason(at(revoked), now=timezone.now()) == "revoked"
    reads = [query["sql"] for query in queries if 'FROM "identity_statuslist"' in query["sql"]]
    assert len(reads) == 2  # revocation and suspension: one byte of each, never the list's bits
    assert all('"bits"' not in re.sub(r'SUBSTR(ING)?\("identity_statuslist"\."bits"', "", sql) for sql in reads)
    neighbours = {revoked - 1, revoked + 1, revoked ^ 7, 0, 131_071} - {-1, 131_072}
    assert [sd_jwt_status_reason(at(index), now=timezone.now()) for index in sorted(neighbours)] == [None] * len(
        neighbours
    )
    for outside in (131_072, 2**40):
        assert sd_jwt_status_reason(at(outside), now=timezone.now()) == "status_unverifiable"
    unpublished = [
        entry | {"statusListCredential": entry["statusListCredential"].rsplit("/", 1)[0] + "/unpublished"}
        for entry in claims["credentialStatus"]
    ]
    assert sd_jwt_status_reason(claims | {"credentialStatus": unpublished}, now=timezone.now()) == "status_unverifiable"


def test_a_credential_without_status_references_is_valid_as_far_as_status_goes():
    assert sd_jwt_status_reason({"iss": "https://outside.test", "vct": "urn:eudi:pid:1"}, now=timezone.now()) is None


def test_the_token_bits_match_the_records():
    claims = issued_claims("PaymentHistoryCredential")
    record = record_of(claims)
    status.credential_revoke(record=record)
    token = StatusList.objects.get(pk=record.revocation_list_id).status_token
    entries = TokenStatusList.from_claim(jose.decode_compact(token)[1]["status_list"])

    assert entries.get(record.revocation_index) == 1
    assert sum(entries.get(index) for index in range(entries.size)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_list_published_elsewhere_is_fetched_through_the_outbound_guard_and_cached(live_server, settings):
    """The portal's own token served by a live server stands in for an outside issuer's list: the verifier (told
    its own base URL is another) fetches it over HTTP, only from an allowed address, and keeps it for its ttl."""
    settings.PORTAL_BASE_URL = live_server.url
    claims = issued_claims("PaymentHistoryCredential")
    settings.PORTAL_BASE_URL = "https://verifier.test"
    settings.OUTBOUND_HTTP_ALLOW_PLAIN_HTTP = True
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = []
    assert claims["status"]["status_list"]["uri"].startswith(live_server.url)

    assert sd_jwt_status_reason(only_token_status(claims), now=timezone.now()) == "status_unverifiable"

    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    now = timezone.now()
    assert sd_jwt_status_reason(only_token_status(claims), now=now) is None
    settings.PORTAL_BASE_URL = live_server.url  # the publisher re-signs under its own URL
    status.credential_revoke(record=record_of(claims))
    settings.PORTAL_BASE_URL = "https://verifier.test"
    assert sd_jwt_status_reason(only_token_status(claims), now=now) is None  # cached
    later = now + timedelta(seconds=status.TOKEN_TTL_SECONDS + 1)
    assert sd_jwt_status_reason(only_token_status(claims), now=later) == "revoked"
