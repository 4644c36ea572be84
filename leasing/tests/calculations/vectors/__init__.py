"""Test vectors from published sources, kept in this folder as `<name>.json` (their sources: README.md here)."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent


def load_vectors(name: str) -> list[dict[str, Any]]:
    """The vectors of one file, with every JSON number that has a fraction read as an exact Decimal."""
    with (VECTORS_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle, parse_float=Decimal)["vectors"]
