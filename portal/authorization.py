"""The authorization matrix format shared by every app's tests.

Each app lists its pages and endpoints in `<app>/tests/authorization.py` as `MATRIX: list[Case]`; one portal test runs
them all and checks that every route of the URLconf is listed somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    """One route, called as each kind of visitor; `expected` maps visitor → exact HTTP status.

    Visitors: `anonymous`, `customer`, `dealer`, `back_office`, and `other_owner` where an object belongs to someone
    else of the right role. `path` may hold `{object}`; `make_object(owner)` creates the object for the owner and
    returns the value to put there.
    """

    name: str
    method: str
    path: str
    expected: dict[str, int]
    body: dict[str, object] | None = None
    make_object: object = None
    route: str = ""  # the URL pattern this case covers, e.g. "api/accounts/tokens/<int:token_id>"
    headers: dict[str, str] = field(default_factory=dict)
