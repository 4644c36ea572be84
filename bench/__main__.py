"""`make bench`: runs every benchmark in one process on a fresh PostgreSQL database and writes docs/benchmarks.md.

Each benchmark module exposes `run() -> str`, a Markdown section that names its baseline (measured in the same run)
and says whether the target was met. Timings are never asserted in unit tests; they are recorded here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
# BENCH_DATABASE names another database, for a run beside one that uses the default.
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "finlab_bench")
MODULES = [
    "bench.identity",
    "bench.openid4vp",
    "bench.ledger",
    "bench.settlement",
    "bench.redemption",
    "bench.serving",
    "bench.cost",
    "bench.open_loop",
    "bench.uploads",
    "bench.machines",
    "bench.stations",
    "bench.load",
]


def _prepare_database() -> None:
    admin_url = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    os.environ["DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + f"/{DATABASE_NAME}"
    has_bench_settings = (BASE_DIR / "bench" / "settings.py").exists()
    # BENCH_SETTINGS: e.g. portal.settings.test for a section that needs no django-hordak (bench.cost, bench.open_loop).
    os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("BENCH_SETTINGS") or (
        "bench.settings" if has_bench_settings else "portal.settings.test"
    )
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split(" sha")[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB memory; Python {platform.python_version()}; "
        f"{postgres}; {redis}"
    )


def _replace_section(text: str, title: str, section: str) -> str:
    """``text`` with the section headed ``title`` ("## ...") replaced by ``section``, or ``section`` appended."""
    head, *parts = text.split("\n## ")
    parts = [f"## {part}" for part in parts]
    for index, part in enumerate(parts):
        if part.splitlines()[0] == title:
            parts[index] = section
            break
    else:
        parts.append(section)
    return "\n".join([head.rstrip("\n") + "\n", *[part.rstrip("\n") + "\n" for part in parts]])


def main() -> int:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    _prepare_database()
    sections: list[str] = []
    failures = 0
    for name in [only] if only else MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        started = time.monotonic()
        print(f"running {name} ...", flush=True)
        try:
            section = importlib.import_module(name).run()
        except Exception:  # noqa: BLE001 - one broken benchmark is reported and the others still run
            failures += 1
            section = f"## {name}\n\nFailed:\n\n```\n{traceback.format_exc()}\n```"
        sections.append(section + f"\n\n_({name} took {time.monotonic() - started:.0f} s.)_")
        print(section, flush=True)
    header = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (which runs `python -m bench`) on a fresh PostgreSQL database "
        f"`{DATABASE_NAME}`, with every baseline measured in the same run. Machine: {_machine()}.",
        f"Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
    ]
    (BASE_DIR / "docs").mkdir(exist_ok=True)
    target = BASE_DIR / "docs" / "benchmarks.md"
    if only and target.exists():
        # One benchmark re-measured (`python -m bench --only bench.load`): its section is replaced, the rest kept.
        section = sections[0].rstrip("\n") + (
            f"\n\n_Re-measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `python -m bench --only {only}` on the "
            "same machine; the other sections are from the run named at the top._"
        )
        target.write_text(_replace_section(target.read_text(), section.splitlines()[0], section + "\n"))
    else:
        target.write_text("\n".join(header) + "\n\n".join(sections) + "\n")
    print("wrote docs/benchmarks.md")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
