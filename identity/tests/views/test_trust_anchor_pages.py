"""Back office's trust-anchor page: upload a CA certificate, see the list, suspend and reactivate anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from identity.credentials import x509
from identity.models import TrustAnchor
from identity.services import trust_anchors

pytestmark = pytest.mark.django_db


def ca_pem(*, days: int = 365, starts: datetime | None = None) -> tuple[str, object]:
    key = x509.generate_p256_key()
    not_before = starts or datetime.now(UTC) - timedelta(minutes=1)
    certificate = x509.ca_certificate_create(
        private_key=key,
        common_name="Outside PID Root CA",
        organisation="Outside PID Provider",
        not_before=not_before,
        not_after=not_before + timedelta(days=days),
    )
    return x509.certificate_to_pem(certificate), key


def leaf_pem() -> str:
    _pem, ca_key = ca_pem()
    ca = crypto_x509.load_pem_x509_certificate(_pem.encode())
    start, end = x509.validity_period(now=timezone.now(), days=30)
    leaf = x509.leaf_certificate_issue(
        ca_private_key=ca_key,  # type: ignore[arg-type]
        ca_certificate=ca,
        subject_public_key=x509.generate_p256_key().public_key(),
        common_name="Outside PID Issuer",
        organisation="Outside PID Provider",
        not_before=start,
        not_after=end,
    )
    return x509.certificate_to_pem(leaf)


def rsa_ca_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = crypto_x509.Name([crypto_x509.NameAttribute(crypto_x509.NameOID.COMMON_NAME, "RSA CA")])
    now = datetime.now(UTC)
    certificate = (
        crypto_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(crypto_x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return x509.certificate_to_pem(certificate)


def upload(pem: str, *, name: str = "Outside PID Provider", types: tuple[str, ...] = ("PersonIdentificationData",)):
    return {
        "name": name,
        "certificate_file": SimpleUploadedFile("root.pem", pem.encode(), content_type="application/x-pem-file"),
        "credential_types": list(types),
    }


def test_staff_upload_an_anchor_and_see_it_listed_with_the_portals_own_ca(back_office, client_for):
    staff = client_for(back_office)
    pem, _key = ca_pem()

    response = staff.post(
        "/identity/trust-anchors/", upload(pem, types=("PersonIdentificationData", "IdentityCredential"))
    )

    assert response.status_code == 302 and response["Location"] == "/identity/trust-anchors/"
    anchor = TrustAnchor.objects.get(name="Outside PID Provider")
    certificate = crypto_x509.load_pem_x509_certificate(pem.encode())
    assert anchor.fingerprint_sha256 == certificate.fingerprint(hashes.SHA256()).hex()
    assert (anchor.state, anchor.added_by, anchor.credential_types) == (
        "active", back_office, ["IdentityCredential", "PersonIdentificationData"]
    )  # fmt: skip
    assert anchor.subject == "O=Outside PID Provider,CN=Outside PID Root CA"
    assert trust_anchors.trust_anchors_for("urn:eudi:pid:1") == [certificate]
    page = staff.get("/identity/trust-anchors/").content.decode()
    assert "Outside PID Provider" in page and anchor.fingerprint_sha256 in page
    assert trust_anchors.PORTAL_ANCHOR_NAME in page and "the portal itself" in page
    listed = page.split('data-testid="anchor-list"')[1].split("</ul>")[0]
    assert "Person identification data (PID)" in listed and "PersonIdentificationData" not in listed


def test_pasting_the_certificate_works_as_well(back_office, client_for):
    pem, _key = ca_pem()
    data = {"name": "Pasted CA", "certificate_text": pem, "credential_types": ["CreditHistoryCredential"]}

    response = client_for(back_office).post("/identity/trust-anchors/", data)

    assert response.status_code == 302
    assert TrustAnchor.objects.get(name="Pasted CA").credential_types == ["CreditHistoryCredential"]


@pytest.mark.parametrize(
    ("make_pem", "message"),
    [
        (leaf_pem, "This is not a CA certificate."),
        (lambda: ca_pem(starts=datetime.now(UTC) - timedelta(days=10), days=5)[0], "expired or not valid yet"),
        (rsa_ca_pem, "Only P-256 and Ed25519 keys are accepted."),
        (lambda: "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n", "not a PEM certificate"),
        (lambda: ca_pem()[0] + ca_pem()[0], "exactly one certificate"),
    ],
)
def test_unusable_certificates_are_refused_next_to_the_field(back_office, client_for, make_pem, message):
    response = client_for(back_office).post("/identity/trust-anchors/", upload(make_pem()))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["certificate_file"])
    assert 'id="id_certificate_file_error"' in response.content.decode()
    assert not TrustAnchor.objects.filter(name="Outside PID Provider").exists()


def test_a_missing_certificate_a_duplicate_and_an_unknown_type_are_refused(back_office, client_for):
    staff = client_for(back_office)
    pem, _key = ca_pem()
    missing = staff.post("/identity/trust-anchors/", {"name": "x", "credential_types": ["IdentityCredential"]})
    assert missing.status_code == 400 and "certificate_file" in missing.context["form"].errors
    assert staff.post("/identity/trust-anchors/", upload(pem)).status_code == 302

    again = staff.post("/identity/trust-anchors/", upload(pem, name="Again"))
    unknown = staff.post("/identity/trust-anchors/", upload(ca_pem()[0], types=("MagicCredential",)))

    assert again.status_code == 400
    assert again.context["form"].errors["certificate_file"] == ["This certificate is already a trust anchor."]
    assert unknown.status_code == 400 and "credential_types" in unknown.context["form"].errors
    assert TrustAnchor.objects.exclude(name=trust_anchors.PORTAL_ANCHOR_NAME).count() == 1


def test_errors_are_shown_in_german(back_office, client_for):
    staff = client_for(back_office)
    staff.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"

    response = staff.post("/identity/trust-anchors/", upload(leaf_pem()))

    assert response.status_code == 400
    assert "Das ist kein CA-Zertifikat." in response.content.decode()


def test_suspending_an_anchor_takes_its_types_away_until_it_is_reactivated(back_office, client_for):
    staff = client_for(back_office)
    pem, _key = ca_pem()
    staff.post("/identity/trust-anchors/", upload(pem))
    anchor = TrustAnchor.objects.get(name="Outside PID Provider")

    suspended = staff.post(f"/identity/trust-anchors/{anchor.pk}/suspend/")

    anchor.refresh_from_db()
    assert suspended.status_code == 302
    assert (anchor.state, anchor.suspended_by, anchor.suspended_at is not None) == ("suspended", back_office, True)
    assert trust_anchors.trust_anchors_for("urn:eudi:pid:1") == []
    assert "Trust again" in staff.get("/identity/trust-anchors/").content.decode()

    staff.post(f"/identity/trust-anchors/{anchor.pk}/reactivate/")

    anchor.refresh_from_db()
    assert (anchor.state, anchor.suspended_by, anchor.suspended_at) == ("active", None, None)
    assert len(trust_anchors.trust_anchors_for("urn:eudi:pid:1")) == 1


def test_suspend_and_reactivate_need_a_post_with_the_csrf_token(back_office, client_for):
    pem, _key = ca_pem()
    anchor = trust_anchors.trust_anchor_add(
        name="CA", pem=pem, credential_types=["IdentityCredential"], added_by=back_office
    )
    strict = client_for(back_office)
    strict.handler.enforce_csrf_checks = True

    assert strict.post(f"/identity/trust-anchors/{anchor.pk}/suspend/").status_code == 403
    assert client_for(back_office).get(f"/identity/trust-anchors/{anchor.pk}/suspend/").status_code == 405
    assert Client().post(f"/identity/trust-anchors/{anchor.pk}/suspend/").status_code == 302
    anchor.refresh_from_db()
    assert anchor.state == "active"
