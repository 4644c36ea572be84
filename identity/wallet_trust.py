"""The certificate authorities the browser wallet trusts, handed to the page as base64 DER.

An issuer's credential (``x5c`` in its SD-JWT header) and a verifier's request object (``x5c`` of an
``x509_san_dns:`` client) must chain to one of these. Today that is the portal's issuing CA: the portal signs its
own credentials and its verifiers' request objects under it.
"""

from __future__ import annotations

import base64

from identity.credentials import x509
from identity.openid4vci import certificates


def wallet_trust_anchors() -> list[str]:
    """Base64 (standard alphabet, as in x5c) DER of every trusted CA certificate still valid."""
    return [
        base64.b64encode(x509.certificate_to_der(anchor)).decode("ascii") for anchor in certificates.trust_anchors()
    ]
