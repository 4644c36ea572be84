from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.tangle.testing import DevNode, running_dev_node


@pytest.fixture
def dev_node(tmp_path: Path) -> Iterator[DevNode]:
    """A dev node child process on a free port with its own temporary data directory."""
    with running_dev_node(data_dir=tmp_path / "tangle") as node:
        yield node
