"""`manage.py check --deploy` with production settings and a production-like environment reports nothing."""

import pytest

from portal.testing import PRODUCTION_SECRETS, production_manage


def test_check_deploy_is_clean_with_production_settings():
    result = production_manage("check", "--deploy", "--fail-level", "DEBUG")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = production_manage("check", without=("DJANGO_SECRET_KEY",))

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("missing", sorted(PRODUCTION_SECRETS))
def test_production_settings_refuse_to_start_without_their_own_keys(missing):
    result = production_manage("check", without=(missing,))

    assert result.returncode != 0
    assert missing in result.stderr
