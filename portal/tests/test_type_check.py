"""mypy (pyproject.toml, [tool.mypy]) passes on the repository, is strict on core, payments.ledger and
identity.credentials, and reports nothing yet for the other packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = ("core", "accounts", "payments", "identity", "credit_checks", "leasing", "machines", "portal")
MYPY = str(Path(sys.executable).with_name("mypy"))
PROBE = '"""A module with an untyped function and a wrong return type."""\n\n\ndef f(x):\n    return x\n\n\ndef g() -> int:\n    return "a"\n'

pytestmark = pytest.mark.slow


def _mypy(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MYPY, "--no-incremental"], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def _python_files_only(directory: str, names: list[str]) -> set[str]:
    return {
        name
        for name in names
        if name == "__pycache__" or (not (Path(directory) / name).is_dir() and not name.endswith(".py"))
    }


def test_the_strict_packages_type_check_and_an_untyped_module_among_them_is_refused(tmp_path):
    for package in ROOT_PACKAGES:
        shutil.copytree(BASE_DIR / package, tmp_path / package, ignore=_python_files_only)
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")

    clean = _mypy(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("Success: no issues found")

    # The strict module imports the lenient one, so mypy analyses both and reports the strict one's errors only.
    (tmp_path / "payments" / "ledger" / "probe.py").write_text(PROBE + "\n\nimport leasing.probe  # noqa: E402\n")
    (tmp_path / "leasing" / "probe.py").write_text(PROBE)
    refused = _mypy(tmp_path)

    assert refused.returncode == 1, refused.stdout + refused.stderr
    errors = [line for line in refused.stdout.splitlines() if ": error:" in line]
    assert errors == [
        "payments/ledger/probe.py:4: error: Function is missing a type annotation  [no-untyped-def]",
        'payments/ledger/probe.py:9: error: Incompatible return value type (got "str", expected "int")  [return-value]',
    ]
