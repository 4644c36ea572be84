"""The real start-up path: `manage.py portal_run` on embedded defaults, three demo users log in, Ctrl-C stops all."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_environment(var_dir: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    }
    return environment | {"DJANGO_SETTINGS_MODULE": "portal.settings.local", "PORTAL_VAR_DIR": str(var_dir)}


def _login(base: str, email: str, password: str, environment: dict[str, str]) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"email": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    if "/accounts/mfa/verify/" in response.url:
        code = subprocess.run(
            [sys.executable, "manage.py", "demo_totp", "--email", email],
            cwd=BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        response = session.post(
            f"{base}/accounts/mfa/verify/",
            data={"token": code, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": f"{base}/accounts/mfa/verify/"},
            timeout=10,
        )
    assert response.status_code == 200, response.text[:500]
    return session


def test_portal_run_starts_everything_with_demo_data_and_stops_on_ctrl_c(tmp_path):
    from portal.demo import DEMO_LOGINS

    port = _free_port()
    environment = _embedded_environment(tmp_path / "var")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "portal_run", "--port", str(port), "--tangle-port", str(_free_port())],
        cwd=BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(output)
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        banner = "".join(output)
        assert f"FinLab portal running at http://127.0.0.1:{port}/" in banner
        assert "SQLite (embedded)" in banner and "filesystem transport (embedded)" in banner
        base = f"http://127.0.0.1:{port}"
        ready = requests.get(f"{base}/health/ready", timeout=10).json()
        assert ready["status"] == "up"
        assert set(ready["checks"]) == {"database", "broker", "tangle"}

        titles = {"customer": "My dashboard", "dealer": "Dealer dashboard", "back_office": "Back office"}
        for login in DEMO_LOGINS:
            assert login.email in banner
            page = _login(base, login.email, login.password, environment).get(f"{base}/", timeout=10)
            title = re.search(r'data-testid="dashboard-title">([^<]+)<', page.text).group(1)
            assert title == titles[login.role]

        children = psutil.Process(process.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "uvicorn" in names and " worker" in names and " beat" in names and "identity.tangle.devnode" in names
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=20)
        assert alive == []
    finally:
        if process.poll() is None:
            process.kill()
