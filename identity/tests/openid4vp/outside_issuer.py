"""Runs the outside issuer of the test harness (identity/tests/wallet/outside_issuer.mjs): a PID provider and a
credit bureau with their own P-256 root CA, which share no key or code with the portal.

The personal values below are distinctive on purpose: the privacy scans look for them in every table, the logs and
the Redis keys after the flows, and must find none.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from identity.credentials import jose
from identity.tests.openid4vci.wallet_harness import INSTALL_COMMAND, WALLET_DIRECTORY

TIMEOUT_SECONDS = 120
GIVEN_NAME = "Zerlinde"
FAMILY_NAME = "Quastenberg-Ylvander"
BIRTH_DATE = "1964-02-29"
STREET = "Wolkenkuckucksweg 42"
LOCALITY = "Hinterzarten-Obertal"
POSTAL_CODE = "79856"
OUTSTANDING_DEBT_MINOR = 9_876_543
MONTHLY_INCOME_MINOR = 4_321_099
OPEN_LOAN_COUNT = 17
PID_CLAIMS = {
    "given_name": GIVEN_NAME,
    "family_name": FAMILY_NAME,
    "birthdate": BIRTH_DATE,
    "address": {"street_address": STREET, "locality": LOCALITY, "postal_code": POSTAL_CODE, "country": "DE"},
    "age_over_18": True,
}
BUREAU_CLAIMS = {
    "scoreBand": "B",
    "affordabilityCeilingPerMonth": {"amountMinor": 65_000, "currency": "EUR"},
    "outstandingDebt": {"amountMinor": OUTSTANDING_DEBT_MINOR, "currency": "EUR"},
    "monthlyNetIncome": {"amountMinor": MONTHLY_INCOME_MINOR, "currency": "EUR"},
    "openLoanCount": OPEN_LOAN_COUNT,
}
PERSONAL_VALUES = [
    GIVEN_NAME,
    FAMILY_NAME,
    BIRTH_DATE,
    STREET,
    LOCALITY,
    str(OUTSTANDING_DEBT_MINOR),
    str(MONTHLY_INCOME_MINOR),
    "98765.43",  # the debt in euros, as a page or a log might have written it
    "43210.99",
]
"""What must never be kept: the PID's name, birth date and address, the bureau's figures."""


@dataclass(frozen=True)
class OutsideCredentials:
    root_ca_pem: str
    pid: str
    bureau: str
    pid_issuer: str
    bureau_issuer: str


def outside_credentials_issue(
    holder: ec.EllipticCurvePrivateKey, *, pid_claims: dict[str, Any] | None = None
) -> OutsideCredentials:
    """A PID (``PID_CLAIMS`` unless ``pid_claims`` are given) and a credit-history credential bound to ``holder``,
    from a freshly made outside CA."""
    assert (WALLET_DIRECTORY / "node_modules").is_dir(), f"The test harness is not installed; run: {INSTALL_COMMAND}"
    request: dict[str, Any] = {
        "holder_jwk": jose.public_jwk(holder.public_key()),
        "pid": PID_CLAIMS if pid_claims is None else pid_claims,
        "bureau": BUREAU_CLAIMS,
    }
    finished = subprocess.run(
        ["node", str(WALLET_DIRECTORY / "outside_issuer.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=WALLET_DIRECTORY,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    lines = finished.stdout.strip().splitlines()
    assert finished.returncode == 0 and lines, f"the outside issuer failed: {finished.stdout} {finished.stderr}"
    answer = json.loads(lines[-1])
    return OutsideCredentials(
        root_ca_pem=answer["root_ca_pem"],
        pid=answer["credentials"]["pid"],
        bureau=answer["credentials"]["bureau"],
        pid_issuer=answer["issuers"]["pid"],
        bureau_issuer=answer["issuers"]["bureau"],
    )
