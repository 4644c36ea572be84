"""`manage.py check --deploy` with production settings and a production-like environment reports nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_SECRETS = {
    "PORTAL_HOST": "portal.finlab.example",
    "PAYMENTS_QR_SIGNING_KEY": "bW9ja19xcl9zaWduaW5nX2tleV8zMl9ieXRlc19fXyE",
    "PAYMENTS_SANDBOX_WEBHOOK_SECRET": "webhook-secret-of-the-acquirer-0123456789",
}


def test_check_deploy_is_clean_with_production_settings():
    inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = inherited | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "p" * 20 + "-production-like-secret-with-enough-entropy-0123456789abcdef",
        "DJANGO_ALLOWED_HOSTS": "portal.finlab.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/finlab",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "PORTAL_BASE_URL": "https://portal.finlab.example",
        **PRODUCTION_SECRETS,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/finlab",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "PORTAL_BASE_URL": "https://portal.finlab.example",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("missing", sorted(PRODUCTION_SECRETS))
def test_production_settings_refuse_to_start_without_their_own_keys(missing):
    environment = {key: value for key, value in os.environ.items() if key not in PRODUCTION_SECRETS} | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "p" * 20 + "-production-like-secret-with-enough-entropy-0123456789abcdef",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/finlab",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "PORTAL_BASE_URL": "https://portal.finlab.example",
        **{key: value for key, value in PRODUCTION_SECRETS.items() if key != missing},
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert missing in result.stderr
