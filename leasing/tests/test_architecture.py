"""Dependencies point one way: leasing and machines use identity and payments, never the reverse; credit checks use
identity and leasing, and neither of them uses credit checks (tests excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_apps(source: str) -> set[str]:
    """Top-level package names a module imports anywhere, including imports inside functions and import_module()."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def production_modules(app: str) -> list[Path]:
    return sorted(
        path
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.relative_to(ROOT / app).parts and "node_modules" not in path.parts
    )


@pytest.mark.parametrize(
    ("app", "forbidden"),
    [
        ("identity", {"leasing", "machines", "credit_checks", "payments"}),
        ("payments", {"leasing", "machines", "credit_checks"}),
        ("leasing", {"credit_checks"}),
        ("credit_checks", {"machines"}),
    ],
)
def test_lower_apps_do_not_import_leasing_or_machines(app, forbidden):
    modules = production_modules(app)
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path.read_text()) & forbidden)
        for path in modules
        if imported_apps(path.read_text()) & forbidden
    }

    assert len(modules) > 10
    assert offenders == {}


PRODUCTION_APPS = ("core", "portal", "accounts", "identity", "credit_checks", "payments", "leasing", "machines")


def test_benchmark_code_lives_under_bench_only():
    """Production packages neither hold benchmark modules nor import the bench package."""
    modules = [path for app in PRODUCTION_APPS for path in production_modules(app)]
    benchmark_modules = [
        str(path.relative_to(ROOT)) for path in modules if path.stem.startswith(("bench", "benchmark"))
    ]
    importing_bench = [str(path.relative_to(ROOT)) for path in modules if "bench" in imported_apps(path.read_text())]

    assert len(modules) > 100
    assert (benchmark_modules, importing_bench) == ([], [])


def test_the_guard_sees_lazy_and_dynamic_imports():
    source = (
        "import json\n"
        "def helper():\n"
        "    from leasing.selectors import application_get_for_user\n"
        "    import machines.services\n"
        "    return importlib.import_module('payments.ledger')\n"
        "from . import sibling\n"
    )

    assert imported_apps(source) == {"json", "leasing", "machines", "payments"}
