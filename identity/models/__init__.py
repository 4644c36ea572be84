"""Models of the identity app. None of them holds a credential or a claim: only keys, registry entries, hashes,
status bits and anchor receipts."""

from identity.models.anchoring import AnchorBatch, AnchorLeaf, AnchorSource
from identity.models.credentials import CredentialRecord, StatusList, StatusListSlot
from identity.models.keys import SigningKey
from identity.models.openid4vci import (
    AuthorizationCode,
    CredentialOffer,
    IssuanceAccessToken,
    IssuanceNonce,
    X509SigningKey,
)
from identity.models.openid4vp import PresentationTransaction
from identity.models.registry import IssuerClient, IssuerKind, TrustedIssuer

__all__ = [
    "AnchorBatch",
    "AnchorLeaf",
    "AnchorSource",
    "AuthorizationCode",
    "CredentialOffer",
    "CredentialRecord",
    "IssuanceAccessToken",
    "IssuanceNonce",
    "IssuerClient",
    "IssuerKind",
    "PresentationTransaction",
    "SigningKey",
    "StatusList",
    "StatusListSlot",
    "TrustedIssuer",
    "X509SigningKey",
]
