import pytest

from identity.demo import identity_demo_data_load
from identity.models import SigningKey, TrustedIssuer

pytestmark = pytest.mark.django_db


def test_demo_data_makes_keys_and_demo_issuers_once(dealer_organisation):
    first = identity_demo_data_load()
    second = identity_demo_data_load()

    assert first == second
    assert first.portal_did == "did:web:localhost"
    assert sorted(TrustedIssuer.objects.values_list("name", "credential_types")) == [
        ("FinLab Demo Credit Bureau", ["CreditHistoryCredential"]),
        ("FinLab Demo KYC Provider", ["IdentityCredential"]),
    ]
    assert sorted(SigningKey.objects.values_list("controller", flat=True)) == sorted(
        ["portal", f"dealer:{dealer_organisation.slug}"]
        + [f"issuer:{pk}" for pk in TrustedIssuer.objects.values_list("pk", flat=True)]
    )
