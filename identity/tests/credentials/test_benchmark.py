from __future__ import annotations

from bench.credentials import credentials_benchmark


def test_vc_jwt_verification_reaches_a_quarter_of_raw_ed25519():
    rates = credentials_benchmark(duration_seconds=0.3)

    assert set(rates) == {"ed25519_raw", "vc_jwt", "data_integrity", "sd_jwt"}
    assert rates["vc_jwt"] >= 0.25 * rates["ed25519_raw"], rates
    assert all(rate > 0 for rate in rates.values())
