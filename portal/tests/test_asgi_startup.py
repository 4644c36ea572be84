"""What a server process (portal/asgi.py) makes at start-up, before it serves anything: what the first requests,
station messages and tasks would otherwise make while being served, and leave among the connections' objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]

_STARTED = """
import json, sys
import portal.asgi
from machines.ocpp import schemas
from machines.ocpp.central_system import CentralSystem16, CentralSystem201
routed = [action for system in (CentralSystem16, CentralSystem201) for action, (_, checked) in system._routes.items() if checked]
print(json.dumps({
    "validators": len(schemas._validators),
    "checked_actions": len(routed),
    "modules": sorted(name for name in sys.modules if name in sys.argv[1:]),
}))
"""


def test_a_server_process_compiles_the_ocpp_validators_and_imports_the_tasks_before_it_serves():
    # A process of its own: the module freezes the start-up heap and tunes the collector of the process importing it.
    started = subprocess.run(
        [sys.executable, "-c", _STARTED, "machines.tasks", "core.tasks", "celery.app.amqp", "kombu.message"],
        cwd=BASE_DIR,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "portal.settings.test"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert started.returncode == 0, started.stderr
    found = json.loads(started.stdout.strip().splitlines()[-1])
    assert found["checked_actions"] > 10
    assert found["validators"] == 2 * found["checked_actions"]  # each checked action's request and answer
    assert found["modules"] == ["celery.app.amqp", "core.tasks", "kombu.message", "machines.tasks"]
