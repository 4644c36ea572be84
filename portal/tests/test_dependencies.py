"""The runtime dependency list matches the code: every third-party package the portal imports outside its tests is
pinned in requirements/base.txt (not only reached through the development list), and every package pinned there is
used, by an import or by name in settings and commands."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_FOLDERS = ["core", "accounts", "identity", "credit_checks", "leasing", "machines", "payments", "portal"]
NOT_RUNTIME = {"tests", "testing.py", "bench.py", "conftest.py"}
# Packages the portal uses by name rather than by import: server, broker transport, settings strings, data packages.
USED_BY_NAME = {
    "uvicorn": "portal_run starts it as the ASGI server",
    "drf-spectacular-sidecar": "INSTALLED_APPS serves the API docs' assets",
    "python-json-logger": "LOGGING names its formatter",
    "whitenoise": "MIDDLEWARE names it",
    "channels-redis": "CHANNEL_LAYERS names its backend",
    "psycopg": "the PostgreSQL database backend loads it",
    "django-csp": "INSTALLED_APPS and MIDDLEWARE name it (module csp)",
    "xmlschema": "sepaxml validates every direct-debit file against its XSD with it",
    "hiredis": "redis-py parses replies with it when it is installed",
}


def _distribution_name(line: str) -> str:
    return re.split(r"[\[=<>~! ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pinned(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {_distribution_name(line) for line in lines if line.strip() and not line.startswith(("#", "-r"))}


def _runtime_files() -> list[Path]:
    files = []
    for folder in APP_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            parts = set(path.relative_to(ROOT).parts)
            if parts & NOT_RUNTIME or "migrations" in parts or "node_modules" in parts:
                continue
            files.append(path)
    return files


def _imported_top_levels() -> dict[str, str]:
    """Top-level module name -> one file importing it, for every import of the runtime code."""
    found: dict[str, str] = {}
    for path in _runtime_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _third_party(imports: dict[str, str]) -> dict[str, set[str]]:
    """Distribution name -> the top-level modules of it that the runtime code imports."""
    local = {path.name for path in ROOT.iterdir() if path.is_dir()}
    providers = metadata.packages_distributions()
    used: dict[str, set[str]] = {}
    for module in imports:
        if module in local or module in sys.stdlib_module_names or module == "__future__":
            continue
        for distribution in providers.get(module, [module]):
            used.setdefault(distribution.lower().replace("_", "-"), set()).add(module)
    return used


def test_every_package_the_runtime_code_imports_is_a_runtime_dependency():
    base = _pinned(ROOT / "requirements" / "base.txt")
    imports = _imported_top_levels()
    missing = {
        distribution: sorted(modules)
        for distribution, modules in _third_party(imports).items()
        if distribution not in base and distribution != "django-stubs"
    }
    # Some distributions are installed by another one's extra: celery[redis] brings redis and kombu.
    missing.pop("redis", None)
    missing.pop("kombu", None)
    assert missing == {}
    # Dealer webhooks connect through httpcore to the address they checked (core/outbound.py).
    assert "httpcore" in base


def test_every_runtime_dependency_is_used():
    base = _pinned(ROOT / "requirements" / "base.txt")
    imported = set(_third_party(_imported_top_levels()))
    unused = sorted(base - imported - set(USED_BY_NAME))
    assert unused == []
    assert "chardet" not in base


def test_pins_of_the_runtime_and_development_lists_are_in_the_lock_file():
    lock = _pinned(ROOT / "requirements" / "lock.txt")
    listed = _pinned(ROOT / "requirements" / "base.txt") | _pinned(ROOT / "requirements" / "dev.txt")
    assert sorted(listed - lock) == []


def test_redis_replies_are_parsed_by_hiredis():
    """redis-py falls back to its Python parser without a word when hiredis is missing; the throttles' round trip on
    every API request would silently cost more."""
    from redis.connection import DefaultParser
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
    assert DefaultParser.__name__ == "_HiredisParser"
