"""Runs the independent Node.js verifiers in identity/tests/js (installed there with ``npm ci``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

JS_DIRECTORY = Path(__file__).resolve().parents[1] / "js"
INSTALL_COMMAND = "npm ci --prefix identity/tests/js"


def run_node_verifier(script: str, request: dict[str, Any]) -> dict[str, Any]:
    """Send ``request`` to a verifier script and return its JSON verdict; missing node_modules is a failure."""
    assert (JS_DIRECTORY / "node_modules").is_dir(), f"JS verifiers are not installed; run: {INSTALL_COMMAND}"
    completed = subprocess.run(
        ["node", str(JS_DIRECTORY / script)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=JS_DIRECTORY,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)
