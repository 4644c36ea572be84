"""Runs the independent test wallet (identity/tests/wallet, installed there with ``npm ci``) against a live server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

WALLET_DIRECTORY = Path(__file__).resolve().parents[1] / "wallet"
INSTALL_COMMAND = "npm ci --prefix identity/tests/wallet"
TIMEOUT_SECONDS = 120


def run_wallet(
    request: dict[str, Any], *, authorize: Callable[[str], str] | None = None, script: str = "wallet.mjs"
) -> dict[str, Any]:
    """Start the wallet with ``request``; when it asks to authorize, ``authorize(url)`` returns the redirect URL the
    customer's browser ended on. Returns the wallet's last JSON line. ``script`` is ``wallet.mjs`` (OpenID4VCI:
    collect a credential) or ``present.mjs`` (OpenID4VP: answer an authorization request)."""
    assert (WALLET_DIRECTORY / "node_modules").is_dir(), f"The test wallet is not installed; run: {INSTALL_COMMAND}"
    process = subprocess.Popen(
        ["node", str(WALLET_DIRECTORY / script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=WALLET_DIRECTORY,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    try:
        while True:
            line = process.stdout.readline()
            assert line, f"the wallet stopped without an answer: {process.stderr.read() if process.stderr else ''}"
            message = json.loads(line)
            if message.get("step") == "authorize":
                assert authorize is not None, "the wallet asked to authorize in a pre-authorized flow"
                process.stdin.write(json.dumps({"redirect": authorize(message["url"])}) + "\n")
                process.stdin.flush()
                continue
            return message
    finally:
        process.stdin.close()
        process.wait(timeout=TIMEOUT_SECONDS)
