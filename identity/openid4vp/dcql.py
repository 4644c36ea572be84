"""DCQL (OpenID4VP 1.0 section 6): the query a verifier sends, and the check that an answer fits it exactly.

The portal only asks for one SD-JWT VC (format ``dc+sd-jwt``) of given ``vct`` values with given top-level claims,
and accepts an answer that discloses exactly those claims: a missing one leaves the query unsatisfied, one more is
refused as an extra disclosure (the customer consented to the query, nothing else).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from identity.credentials.encoding import json_decode

FORMAT = "dc+sd-jwt"


@dataclass(frozen=True)
class CredentialQuery:
    """One credential query: its id in the ``vp_token``, accepted ``vct`` values and the claim names asked for."""

    query_id: str
    vct_values: tuple[str, ...]
    claims: tuple[str, ...]

    def as_dcql(self) -> dict[str, Any]:
        return {
            "id": self.query_id,
            "format": FORMAT,
            "meta": {"vct_values": list(self.vct_values)},
            "claims": [{"path": [name]} for name in self.claims],
        }


def dcql_query(*queries: CredentialQuery) -> dict[str, Any]:
    """A DCQL query asking for every credential query given (no alternatives, no credential sets)."""
    if not queries:
        raise ValueError("a DCQL query asks for at least one credential")
    return {"credentials": [query.as_dcql() for query in queries]}


def credential_queries(query: Mapping[str, Any]) -> list[CredentialQuery]:
    """The credential queries of a stored DCQL query (the shape :func:`dcql_query` makes)."""
    return [
        CredentialQuery(
            query_id=entry["id"],
            vct_values=tuple(entry["meta"]["vct_values"]),
            claims=tuple(claim["path"][0] for claim in entry["claims"]),
        )
        for entry in query["credentials"]
    ]


class DcqlMismatch(ValueError):
    """The answer does not fit the query; ``reason`` is ``dcql_not_satisfied``, ``extra_disclosure`` or
    ``unsupported_format``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def vp_token_presentations(vp_token: object, query: Mapping[str, Any]) -> dict[str, str]:
    """The one presentation per credential query id of a ``vp_token`` (a JSON object of id → list of
    presentations, OpenID4VP 1.0 section 8.1). Ids the query does not have, or a missing id, do not fit the query;
    a presentation that is not an SD-JWT (compact, with ``~``) is of an unsupported format."""
    if isinstance(vp_token, str):
        try:
            vp_token = json_decode(vp_token)
        except ValueError as error:
            raise DcqlMismatch("dcql_not_satisfied", "vp_token is not a JSON object") from error
    if not isinstance(vp_token, Mapping):
        raise DcqlMismatch("dcql_not_satisfied", "vp_token must be a JSON object keyed by credential query id")
    wanted = {entry["id"] for entry in query["credentials"]}
    if set(vp_token) != wanted:
        raise DcqlMismatch(
            "dcql_not_satisfied", f"vp_token answers {sorted(vp_token)}, the query asks {sorted(wanted)}"
        )
    presentations: dict[str, str] = {}
    for query_id, value in vp_token.items():
        if not isinstance(value, list) or len(value) != 1:
            raise DcqlMismatch("dcql_not_satisfied", f"{query_id}: exactly one presentation is asked for")
        presentation = value[0]
        if not isinstance(presentation, str) or "~" not in presentation:
            raise DcqlMismatch("unsupported_format", f"{query_id}: only {FORMAT} presentations are accepted")
        presentations[query_id] = presentation
    return presentations


def disclosure_check(*, query: CredentialQuery, vct: str, disclosed: Sequence[str]) -> None:
    """The presentation is of an accepted ``vct`` and discloses exactly the claims asked for."""
    if vct not in query.vct_values:
        raise DcqlMismatch("dcql_not_satisfied", f"{query.query_id}: credential type {vct} was not asked for")
    missing = set(query.claims) - set(disclosed)
    if missing:
        raise DcqlMismatch("dcql_not_satisfied", f"{query.query_id}: claims {sorted(missing)} are missing")
    extra = set(disclosed) - set(query.claims)
    if extra or len(disclosed) != len(set(disclosed)):
        raise DcqlMismatch("extra_disclosure", f"{query.query_id}: {len(extra)} claims beyond the query disclosed")
