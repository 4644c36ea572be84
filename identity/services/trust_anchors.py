"""X.509 trust anchors of credential issuers that sign with an ``x5c`` chain (ES256, as HAIP asks).

The portal's own issuing CA is the anchor for the types the portal issues. The trust registry's back office adds
anchors of outside issuers (PID providers, credit bureaus) for the types it trusts them with.
"""

from __future__ import annotations

from cryptography import x509

from identity.openid4vci import certificates
from identity.openid4vci.configurations import SignedBy, credential_configurations


def trust_anchors_for(credential_type: str) -> list[x509.Certificate]:
    """The certificates an ``x5c`` chain of a credential of ``credential_type`` must lead to (empty: none)."""
    portal_types = {
        configuration.credential_type
        for configuration in credential_configurations().values()
        if configuration.signed_by == SignedBy.PORTAL_X509
    }
    if credential_type in portal_types:
        return certificates.trust_anchors()
    return []
