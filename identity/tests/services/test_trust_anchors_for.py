"""The anchors a verification trusts are read from the registry on every call (a suspension counts at once, whichever
process made it); only parsing a stored PEM, which gives the same certificate for the same text, is kept."""

from __future__ import annotations

import pytest
from cryptography import x509 as crypto_x509
from django.utils import timezone

from accounts.roles import Role
from identity.credentials import x509
from identity.models import TrustAnchor
from identity.services import trust_anchors
from identity.services.trust_anchors import (
    portal_trust_anchor_ensure,
    trust_anchor_add,
    trust_anchor_reactivate,
    trust_anchor_suspend,
    trust_anchors_for,
)

pytestmark = pytest.mark.django_db
TYPE = "CreditHistoryCredential"


def _ca_pem(name: str) -> str:
    not_before, not_after = x509.validity_period(now=timezone.now(), days=30)
    certificate = x509.ca_certificate_create(
        private_key=x509.generate_p256_key(), common_name=name, organisation="Bureau", not_before=not_before,
        not_after=not_after,
    )  # fmt: skip
    return x509.certificate_to_pem(certificate)


@pytest.fixture
def anchor(make_user) -> TrustAnchor:
    return trust_anchor_add(
        name="Bureau Root", pem=_ca_pem("Bureau Root"), credential_types=[TYPE], added_by=make_user(Role.BACK_OFFICE)
    )


def _subjects(certificates: list[crypto_x509.Certificate]) -> list[str]:
    return sorted(certificate.subject.rfc4514_string() for certificate in certificates)


def test_the_anchors_are_the_certificates_their_pem_gives(anchor):
    found = trust_anchors_for(TYPE)
    again = trust_anchors_for(TYPE)

    assert found == again == [crypto_x509.load_pem_x509_certificate(anchor.certificate_pem.encode("ascii"))]


def test_a_stored_pem_is_parsed_once_per_process(anchor, monkeypatch):
    trust_anchors._certificate_from_pem.cache_clear()
    parsed = []
    load = crypto_x509.load_pem_x509_certificate
    monkeypatch.setattr(trust_anchors.x509, "load_pem_x509_certificate", lambda data: parsed.append(data) or load(data))

    for _ in range(3):
        assert _subjects(trust_anchors_for(TYPE)) == ["O=Bureau,CN=Bureau Root"]

    assert parsed == [anchor.certificate_pem.encode("ascii")]


def test_a_suspended_anchor_is_left_out_by_the_next_call_and_back_once_reactivated(anchor, make_user):
    staff = make_user(Role.BACK_OFFICE)
    assert len(trust_anchors_for(TYPE)) == 1

    trust_anchor_suspend(anchor=anchor, suspended_by=staff)
    assert trust_anchors_for(TYPE) == []

    trust_anchor_reactivate(anchor=anchor, reactivated_by=staff)
    assert len(trust_anchors_for(TYPE)) == 1


def test_a_suspension_written_by_another_process_counts_at_once(anchor):
    assert len(trust_anchors_for(TYPE)) == 1

    # what another web process's suspension leaves in the database: nothing in this process is told
    TrustAnchor.objects.filter(pk=anchor.pk).update(state=TrustAnchor.State.SUSPENDED, suspended_at=timezone.now())

    assert trust_anchors_for(TYPE) == []


def test_the_portals_ca_is_looked_up_once_it_is_an_anchor(django_assert_num_queries):
    portal_trust_anchor_ensure()  # adds it
    portal_trust_anchor_ensure()  # sees it, and remembers

    with django_assert_num_queries(1):  # the portal's active CA only
        portal_trust_anchor_ensure()
    assert TrustAnchor.objects.filter(name=trust_anchors.PORTAL_ANCHOR_NAME).count() == 1
