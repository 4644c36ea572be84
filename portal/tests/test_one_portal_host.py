"""One source for the portal's host: `manage.py issue_credential --issuer portal`, run beside `make run` with the same
environment (PORTAL_PORT set, nothing else), names the did:web the running portal serves, so the running portal's
own verifier accepts the credential instead of answering `unknown_issuer`."""

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest
import requests

from identity.credentials.dids import did_key_from_public_key
from identity.credentials.keys import generate_private_key, public_key_bytes
from portal.tests.test_startup import BASE_DIR, _embedded_environment, _free_port, _login

pytestmark = pytest.mark.slow


def _wait_for_banner(process: subprocess.Popen[str]) -> str:
    output: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line or process.poll() is None, "".join(output)
        output.append(line)
        if "Press Ctrl-C" in line:
            return "".join(output)
    raise AssertionError("".join(output))


def test_a_credential_issued_from_the_command_line_verifies_at_the_running_portal(tmp_path):
    from portal.demo import DEMO_LOGINS

    port = _free_port()
    environment = _embedded_environment(tmp_path / "var") | {"PORTAL_PORT": str(port)}
    for name in ("PORTAL_HOST", "PORTAL_BASE_URL", "PORTAL_BIND"):
        environment.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "portal_run", "--tangle-port", str(_free_port())],
        cwd=BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = _wait_for_banner(process)
        base = f"http://127.0.0.1:{port}"
        assert f"FinLab portal running at {base}/" in banner
        served_did = requests.get(f"{base}/.well-known/did.json", timeout=10).json()["id"]

        holder = did_key_from_public_key(public_key_bytes(generate_private_key()))
        issued = subprocess.run(
            [sys.executable, "manage.py", "issue_credential", "--issuer", "portal", "--type",
             "PaymentHistoryCredential", "--subject", holder, "--claims", '{"onTimePaymentCount": 12, "arrearsCount": 0, "periodStart": "2026-01-01", "periodEnd": "2026-11-30"}',
             "--format", "data-integrity"],
            cwd=BASE_DIR, env=environment, capture_output=True, text=True, check=True,
        )  # fmt: skip
        credential = json.loads(issued.stdout)

        customer = next(login for login in DEMO_LOGINS if login.role == "customer")
        session = _login(base, customer.email, customer.password, environment)
        verified = session.post(
            f"{base}/credentials/verify",
            json={"verifiableCredential": credential, "options": {"allowPendingAnchor": True}},
            headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/"},
            timeout=30,
        )

        assert served_did == f"did:web:127.0.0.1%3A{port}"
        assert credential["issuer"] == served_did
        assert verified.status_code == 200, verified.text
        assert verified.json()["verified"] is True
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        psutil.wait_procs(children, timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
