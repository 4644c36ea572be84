"""The X.509 module: a CA, a leaf it issues, and the chain check a verifier relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.credentials import x509

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make_ca(name: str = "Test CA"):
    key = x509.generate_p256_key()
    start, end = x509.validity_period(now=NOW, days=365)
    return key, x509.ca_certificate_create(
        private_key=key, common_name=name, organisation="FinLab", not_before=start, not_after=end
    )


def make_leaf(ca_key, ca_certificate, *, days: int = 30):
    key = x509.generate_p256_key()
    start, end = x509.validity_period(now=NOW, days=days)
    return key, x509.leaf_certificate_issue(
        ca_private_key=ca_key,
        ca_certificate=ca_certificate,
        subject_public_key=key.public_key(),
        common_name="Issuer",
        organisation="FinLab",
        san_uris=["https://portal.test"],
        san_dns_names=["portal.test"],
        not_before=start,
        not_after=end,
    )


def test_a_leaf_chains_to_its_ca_through_x5c():
    ca_key, ca = make_ca()
    _key, leaf = make_leaf(ca_key, ca)

    chain = x509.x5c_decode(x509.x5c_encode([leaf]))

    assert x509.certificate_chain_verify(chain=chain, trust_anchors=[ca], at=NOW) == leaf
    assert x509.certificate_chain_verify(chain=[leaf, ca], trust_anchors=[ca], at=NOW) == leaf


def test_a_leaf_of_another_ca_with_the_same_name_is_refused():
    ca_key, _ca = make_ca()
    _other_key, impostor = make_ca()  # same subject name, another key
    _key, leaf = make_leaf(ca_key, _ca)

    with pytest.raises(x509.CertificateChainError, match="not signed by its issuer"):
        x509.certificate_chain_verify(chain=[leaf], trust_anchors=[impostor], at=NOW)


def test_a_chain_to_an_untrusted_anchor_is_refused():
    ca_key, ca = make_ca("Untrusted CA")
    _trusted_key, trusted = make_ca("Trusted CA")
    _key, leaf = make_leaf(ca_key, ca)

    with pytest.raises(x509.CertificateChainError, match="trusted anchor"):
        x509.certificate_chain_verify(chain=[leaf, ca], trust_anchors=[trusted], at=NOW)


def test_an_expired_leaf_and_a_ca_as_signer_are_refused():
    ca_key, ca = make_ca()
    _key, leaf = make_leaf(ca_key, ca, days=30)

    with pytest.raises(x509.CertificateChainError, match="not valid at"):
        x509.certificate_chain_verify(chain=[leaf], trust_anchors=[ca], at=NOW + timedelta(days=31))
    with pytest.raises(x509.CertificateChainError, match="is a CA certificate"):
        x509.certificate_chain_verify(chain=[ca], trust_anchors=[ca], at=NOW)


def test_a_leaf_cannot_outlive_its_ca():
    ca_key, ca = make_ca()
    with pytest.raises(ValueError, match="inside its CA's validity"):
        make_leaf(ca_key, ca, days=400)


@pytest.mark.parametrize("value", [[], "MIIB", ["not base64!"], [123], ["AAAA"]])
def test_malformed_x5c_values_are_refused(value):
    with pytest.raises(x509.CertificateChainError):
        x509.x5c_decode(value)


def _certificate(*, subject_key, issuer_key, subject: str, issuer: str, is_ca: bool, path_length, usage):
    from cryptography import x509 as crypto_x509
    from cryptography.hazmat.primitives import hashes

    start, end = x509.validity_period(now=NOW, days=30)
    builder = (
        crypto_x509.CertificateBuilder()
        .subject_name(crypto_x509.Name([crypto_x509.NameAttribute(crypto_x509.NameOID.COMMON_NAME, subject)]))
        .issuer_name(crypto_x509.Name([crypto_x509.NameAttribute(crypto_x509.NameOID.COMMON_NAME, issuer)]))
        .public_key(subject_key.public_key())
        .serial_number(crypto_x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(crypto_x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
    )
    if usage is not None:
        flags = dict.fromkeys(
            ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
            False,
        )  # fmt: skip
        builder = builder.add_extension(crypto_x509.KeyUsage(**(flags | {usage: True})), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def test_key_usage_must_allow_signing_for_the_leaf_and_certificate_signing_for_the_ca():
    root_key, leaf_key = x509.generate_p256_key(), x509.generate_p256_key()
    root = _certificate(
        subject_key=root_key, issuer_key=root_key, subject="Root", issuer="Root", is_ca=True, path_length=0,
        usage="key_cert_sign",
    )  # fmt: skip
    encipher_only_leaf = _certificate(
        subject_key=leaf_key, issuer_key=root_key, subject="Leaf", issuer="Root", is_ca=False, path_length=None,
        usage="key_agreement",
    )  # fmt: skip
    crl_only_root = _certificate(
        subject_key=root_key, issuer_key=root_key, subject="Root", issuer="Root", is_ca=True, path_length=0,
        usage="crl_sign",
    )  # fmt: skip
    signing_leaf = _certificate(
        subject_key=leaf_key, issuer_key=root_key, subject="Leaf", issuer="Root", is_ca=False, path_length=None,
        usage="digital_signature",
    )  # fmt: skip

    assert x509.certificate_chain_verify(chain=[signing_leaf], trust_anchors=[root], at=NOW) == signing_leaf
    with pytest.raises(x509.CertificateChainError, match="key usage"):
        x509.certificate_chain_verify(chain=[encipher_only_leaf], trust_anchors=[root], at=NOW)
    with pytest.raises(x509.CertificateChainError, match="may sign certificates"):
        x509.certificate_chain_verify(chain=[signing_leaf], trust_anchors=[crl_only_root], at=NOW)


def test_an_intermediate_below_a_root_with_path_length_zero_is_refused():
    root_key, middle_key, leaf_key = (x509.generate_p256_key() for _ in range(3))
    tight_root = _certificate(
        subject_key=root_key, issuer_key=root_key, subject="Root", issuer="Root", is_ca=True, path_length=0,
        usage="key_cert_sign",
    )  # fmt: skip
    open_root = _certificate(
        subject_key=root_key, issuer_key=root_key, subject="Root", issuer="Root", is_ca=True, path_length=1,
        usage="key_cert_sign",
    )  # fmt: skip
    middle = _certificate(
        subject_key=middle_key, issuer_key=root_key, subject="Middle", issuer="Root", is_ca=True, path_length=0,
        usage="key_cert_sign",
    )  # fmt: skip
    leaf = _certificate(
        subject_key=leaf_key, issuer_key=middle_key, subject="Leaf", issuer="Middle", is_ca=False, path_length=None,
        usage="digital_signature",
    )  # fmt: skip

    assert x509.certificate_chain_verify(chain=[leaf, middle], trust_anchors=[open_root], at=NOW) == leaf
    with pytest.raises(x509.CertificateChainError, match="no CA below it"):
        x509.certificate_chain_verify(chain=[leaf, middle], trust_anchors=[tight_root], at=NOW)
