"""A fresh clone runs its tests alone: test vectors live inside the repository beside the tests that use them, with
their published source named, and no Python file reaches for a folder outside the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from leasing.tests.calculations import vectors as leasing_vectors
from payments.tests.codes import vectors as payment_vectors

ROOT = Path(__file__).resolve().parents[2]
_OUTSIDE_FOLDER = "shared"  # the collection beside the repository that tests once read their vectors from
OUTSIDE_REFERENCES = re.compile(
    "|".join(
        [
            re.escape("../" + _OUTSIDE_FOLDER),
            re.escape(_OUTSIDE_FOLDER + "/vectors"),
            "SHARED_" + "DIR",
            r"\.parent\s*/\s*[\"']" + _OUTSIDE_FOLDER + r"[\"']",
        ]
    )
)


@pytest.mark.parametrize(("module", "names"), [(leasing_vectors, ["aprc", "schedule"]), (payment_vectors, ["emv_qr"])])
def test_vectors_load_from_the_repository_whatever_lies_beside_it(module, names, monkeypatch):
    # The variable the old loader read to find the outside folder: pointing it nowhere must change nothing.
    monkeypatch.setenv("SHARED_" + "DIR", "/nonexistent-shared-folder")
    folder = Path(module.__file__).resolve().parent
    assert folder.is_relative_to(ROOT)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for name in names:
        vectors = module.load_vectors(name)
        assert vectors
        assert f"`{name}.json`" in readme
        for vector in vectors:
            assert vector["name"] in readme or vector["name"].rsplit("-", 1)[0] in readme


def test_the_aprc_vectors_name_their_published_source():
    document = json.loads((ROOT / "leasing/tests/calculations/vectors/aprc.json").read_text(encoding="utf-8"))
    assert all(vector["source"] for vector in document["vectors"])


def test_no_python_file_reads_a_folder_outside_the_repository():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "var"} or "node_modules" in relative.parts or path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if OUTSIDE_REFERENCES.search(line):
                offenders.append(f"{relative}:{number}")
    assert offenders == []
