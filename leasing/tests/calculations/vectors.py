"""Shared test vectors: `$SHARED_DIR/vectors/<name>.json`, SHARED_DIR defaulting to the `shared` folder beside the repo."""

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]


def load_vectors(name: str) -> list[dict[str, Any]]:
    """The vectors of one file, with every JSON number that has a fraction read as an exact Decimal."""
    shared_dir = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
    with (shared_dir / "vectors" / f"{name}.json").open(encoding="utf-8") as handle:
        return json.load(handle, parse_float=Decimal)["vectors"]
