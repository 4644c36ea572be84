from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from identity.credentials import jose
from identity.credentials.encoding import b64url_encode
from identity.openid4vp import jwe


def _prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@pytest.mark.parametrize("encryption", ["A128GCM", "A256GCM"])
@pytest.mark.parametrize("party_info", [{}, {"apu": b64url_encode(b"wallet"), "apv": b64url_encode(b"nonce-1")}])
def test_the_content_key_is_the_concat_kdf_of_rfc_7518(encryption, party_info):
    """The one-round SHA-256 derivation gives what ``cryptography``'s Concat KDF gives (RFC 7518 4.6.2)."""
    recipient, ephemeral = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    header = {"alg": "ECDH-ES", "enc": encryption, "epk": jose.public_jwk(ephemeral.public_key()), **party_info}
    length = jwe.KEY_LENGTHS[encryption]
    other_info = (
        _prefixed(encryption.encode("ascii"))
        + _prefixed(b"wallet" if party_info else b"")
        + _prefixed(b"nonce-1" if party_info else b"")
        + struct.pack(">I", length * 8)
    )
    expected = ConcatKDFHash(algorithm=hashes.SHA256(), length=length, otherinfo=other_info).derive(
        recipient.exchange(ec.ECDH(), ephemeral.public_key())
    )

    derived = jwe._content_key(private_key=recipient, peer=ephemeral.public_key(), header=header)

    assert derived == expected
    token = jwe.encrypt(b'{"state":"s"}', recipient=recipient.public_key(), encryption=encryption)
    assert jwe.decrypt(token, private_key=recipient) == b'{"state":"s"}'


def test_a_jwe_with_a_cut_tag_or_iv_is_refused_before_any_key_agreement():
    recipient = ec.generate_private_key(ec.SECP256R1())
    protected, _empty, iv, ciphertext, tag = jwe.encrypt(b"{}", recipient=recipient.public_key()).split(".")

    for token in (f"{protected}..{iv}.{ciphertext}.{tag[:-4]}", f"{protected}..{iv[:-4]}.{ciphertext}.{tag}"):
        with pytest.raises(jwe.JweError, match="96-bit IV and a 128-bit tag"):
            jwe.decrypt(token, private_key=recipient)
