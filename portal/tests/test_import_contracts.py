"""The import rules between the apps (pyproject.toml, [tool.importlinter]) hold for the repository, and `lint-imports`
fails, naming the broken contract and the offending import, as soon as a module adds a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = ("core", "accounts", "payments", "identity", "credit_checks", "leasing", "machines", "portal", "bench")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _python_files_only(directory: str, names: list[str]) -> set[str]:
    return {
        name
        for name in names
        if name == "__pycache__" or (not (Path(directory) / name).is_dir() and not name.endswith(".py"))
    }


def _copy_of_the_repository(tmp_path: Path) -> Path:
    for package in ROOT_PACKAGES:
        shutil.copytree(BASE_DIR / package, tmp_path / package, ignore=_python_files_only)
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_repository_keeps_every_import_contract():
    result = _lint_imports(BASE_DIR)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_an_unchanged_copy_keeps_every_import_contract(tmp_path):
    """The copy the refusals below start from is itself clean: each refusal is caused by its one added module."""
    result = _lint_imports(_copy_of_the_repository(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract", "offending"),
    [
        # identity sits below leasing: credentials never depend on a lease.
        ("identity/forbidden.py", "import leasing.selectors\n", "Apps are layered", "identity.forbidden -> leasing"),
        # The kernel is the ground: it imports no app.
        ("core/forbidden.py", "from payments import ledger\n", "Apps are layered", "core.forbidden -> payments"),
        # leasing and machines are independent siblings.
        ("machines/forbidden.py", "from leasing import selectors\n", "Apps are layered", "machines.forbidden -> leasing"),
        # A lower layer never reaches the top, not even for a constant.
        ("payments/forbidden.py", "from portal.demo import DEMO_DEALER_SLUG\n", "Apps are layered", "payments.forbidden -> portal.demo"),
        # Money only through payments.ledger and payments' services and selectors.
        ("leasing/forbidden.py", "from payments.models import Account\n", "payments.ledger is the only way into money", "leasing.forbidden -> payments.models"),
        # Benchmarks are not production code.
        ("payments/qr/forbidden.py", "from bench import netdelay\n", "Benchmark code lives under bench/", "payments.qr.forbidden -> bench.netdelay"),
    ],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, source, contract, offending):
    copy = _copy_of_the_repository(tmp_path)
    (copy / module).write_text(f'"""A module that breaks the import rules."""\n\n{source}')

    result = _lint_imports(copy)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 2 kept, 1 broken." in result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in " ".join(broken.split())
    assert offending in broken
