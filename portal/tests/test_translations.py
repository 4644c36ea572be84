"""The German catalogue is complete and the compiled file is the one the portal loads.

Fails when a string marked for translation in code or templates has no German entry (a fresh extraction with
`makemessages` into a temporary folder is compared with the committed catalogue), when an entry is untranslated or
fuzzy, when its placeholders differ from the English text, or when the committed `.mo` says something else than the
`.po`. Run `make messages`, translate, and commit both files.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"
MO = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.mo"
SOURCE_FOLDERS = [
    "accounts",
    "core",
    "credit_checks",
    "identity",
    "leasing",
    "machines",
    "payments",
    "portal",
    "templates",
    "static",
]
IGNORE = [".venv/*", "var/*", "*/tests/*", "bench/*", "node_modules/*"]
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")


def _key(entry: polib.POEntry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def test_every_german_entry_is_translated_and_not_fuzzy():
    catalogue = polib.pofile(str(PO))
    untranslated = [entry.msgid for entry in catalogue if not all(_translations(entry))]
    fuzzy = [entry.msgid for entry in catalogue if "fuzzy" in entry.flags]
    obsolete = [entry.msgid for entry in catalogue.obsolete_entries()]
    assert (untranslated, fuzzy, obsolete) == ([], [], [])
    assert len(catalogue) > 700


def test_german_entries_keep_the_placeholders_of_the_english_text():
    wrong = []
    for entry in polib.pofile(str(PO)):
        expected = sorted(_PLACEHOLDER.findall(entry.msgid))
        for text in _translations(entry):
            if sorted(_PLACEHOLDER.findall(text)) != expected:
                wrong.append((entry.msgid, text))
    assert wrong == []


def test_the_committed_mo_file_says_what_the_po_file_says():
    source = {_key(entry): _translations(entry) for entry in polib.pofile(str(PO))}
    compiled = {_key(entry): _translations(entry) for entry in polib.mofile(str(MO)) if entry.msgid}
    assert compiled == source


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs Debian's gettext (scripts/test-prerequisites)")
def test_every_string_marked_in_code_and_templates_is_in_the_catalogue(tmp_path, settings, monkeypatch):
    # makemessages writes next to the sources it reads; a folder of links to them keeps the committed catalogue intact.
    for name in SOURCE_FOLDERS:
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["de"], ignore_patterns=IGNORE, no_obsolete=True, symlinks=True, verbosity=0)
    extracted = {_key(entry) for entry in polib.pofile(str(tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"))}
    committed = {_key(entry) for entry in polib.pofile(str(PO))}
    assert sorted(extracted - committed) == []
    assert sorted(committed - extracted) == []
