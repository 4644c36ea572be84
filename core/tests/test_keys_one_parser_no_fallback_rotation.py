"""Finding 10, "Keys": FIELD_ENCRYPTION_KEY was parsed three ways and one fell back to a key derived from SECRET_KEY.
Now one parser (core.encryption), no fallback, and rotation: a list of keys (the first encrypts, all decrypt) and a
command that re-encrypts every field under the newest key."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.roles import Role
from core import encryption
from identity.credentials.keys import private_key_to_bytes
from identity.models import SigningKey
from identity.services import keys as identity_keys
from machines.identities import machine_keys_generate, machine_private_key_open
from machines.models import Vehicle
from machines.tests.factories import vehicle_make
from portal.testing import production_environment, production_manage

REPOSITORY = Path(settings.BASE_DIR)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _python_sources() -> list[Path]:
    skipped = {".venv", "node_modules", "tests", "migrations", "settings", "var", "static"}
    return [path for path in REPOSITORY.rglob("*.py") if not skipped & set(path.relative_to(REPOSITORY).parts)]


def test_one_module_parses_the_field_encryption_keys():
    """No module but core.encryption reads the key setting, and none derives a field key from SECRET_KEY."""
    readers = sorted(
        str(path.relative_to(REPOSITORY))
        for path in _python_sources()
        if re.search(r"settings\.FIELD_ENCRYPTION_KEY|[\"']FIELD_ENCRYPTION_KEY", path.read_text(encoding="utf-8"))
    )
    derived = [
        str(path.relative_to(REPOSITORY))
        for path in _python_sources()
        if "key_encryption_key" in path.read_text(encoding="utf-8") and "SECRET_KEY" in path.read_text(encoding="utf-8")
    ]

    assert readers == ["core/encryption.py"]
    assert derived == []


def test_production_refuses_to_start_without_a_field_key():
    result = production_manage("check", without=("FIELD_ENCRYPTION_KEY", "FIELD_ENCRYPTION_KEYS"))

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


@pytest.mark.parametrize("keys", [[], [""], ["not-a-key"], ["YWJj"], [KEY_A, "x" * 44]])
def test_a_missing_or_malformed_key_fails_loudly_instead_of_falling_back(keys, settings):
    settings.FIELD_ENCRYPTION_KEYS = keys

    with pytest.raises(ImproperlyConfigured):
        machine_keys_generate()
    with pytest.raises(ImproperlyConfigured):
        encryption.field_encrypt(plaintext=b"secret", context=b"field")


def test_the_one_key_setting_is_read_as_a_list_of_one():
    environment = production_environment(without=("FIELD_ENCRYPTION_KEYS",)) | {"FIELD_ENCRYPTION_KEY": KEY_A}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)"],
        cwd=REPOSITORY, env=environment, capture_output=True, text=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"['{KEY_A}']"


def test_the_first_key_encrypts_and_every_key_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    blob = encryption.field_encrypt(plaintext=b"DE89370400440532013000", context=b"mandate.iban")

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert encryption.field_decrypt(blob=blob, context=b"mandate.iban") == b"DE89370400440532013000"
    assert encryption.field_is_current(blob=blob) is False
    with pytest.raises(encryption.DecryptionFailed):
        encryption.field_decrypt(blob=blob, context=b"another.field")

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(encryption.DecryptionFailed):
        encryption.field_decrypt(blob=blob, context=b"mandate.iban")


def _legacy_blob(*, key: str, plaintext: bytes, associated_data: bytes) -> bytes:
    """A value as the earlier AES-256-GCM format stored it (identity and machines bound 0x01 ‖ context)."""
    nonce = os.urandom(12)
    raw_key = base64.urlsafe_b64decode(key)
    return b"\x01" + nonce + AESGCM(raw_key).encrypt(nonce, plaintext, b"\x01" + associated_data)


@pytest.mark.django_db
def test_rotation_re_encrypts_every_field_so_the_new_key_alone_decrypts(settings, make_user):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    vehicle = vehicle_make(owner=make_user(Role.CUSTOMER))
    signer = identity_keys.signer_for(controller=identity_keys.PORTAL_CONTROLLER, did=identity_keys.portal_did())
    legacy_vehicle = vehicle_make(owner=make_user(Role.CUSTOMER))
    legacy_private = machine_private_key_open(
        did=legacy_vehicle.did, encrypted_private_key=legacy_vehicle.encrypted_private_key
    )
    Vehicle.objects.filter(pk=legacy_vehicle.pk).update(
        encrypted_private_key=_legacy_blob(
            key=KEY_A, plaintext=private_key_to_bytes(legacy_private), associated_data=legacy_vehicle.did.encode()
        )
    )

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    vehicle.refresh_from_db()
    assert machine_private_key_open(did=vehicle.did, encrypted_private_key=vehicle.encrypted_private_key)
    output = io.StringIO()
    call_command("field_keys_rotate", "--batch-size", "1", stdout=output)
    assert "machines.Vehicle.encrypted_private_key: 2 of 2 re-encrypted" in output.getvalue()
    assert "identity.SigningKey.encrypted_private_key: 1 of 1 re-encrypted" in output.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    for row in Vehicle.objects.all():
        assert encryption.field_is_current(blob=bytes(row.encrypted_private_key))
        machine_private_key_open(did=row.did, encrypted_private_key=row.encrypted_private_key)
    reopened = machine_private_key_open(
        did=legacy_vehicle.did, encrypted_private_key=Vehicle.objects.get(pk=legacy_vehicle.pk).encrypted_private_key
    )
    assert private_key_to_bytes(reopened) == private_key_to_bytes(legacy_private)
    again = identity_keys.signer_for(controller=identity_keys.PORTAL_CONTROLLER, did=identity_keys.portal_did())
    assert private_key_to_bytes(again.private_key) == private_key_to_bytes(signer.private_key)
    assert encryption.field_is_current(blob=bytes(SigningKey.objects.get(controller="portal").encrypted_private_key))

    second_run = io.StringIO()
    call_command("field_keys_rotate", stdout=second_run)
    assert "machines.Vehicle.encrypted_private_key: 0 of 2 re-encrypted" in second_run.getvalue()
    assert "identity.SigningKey.encrypted_private_key: 0 of 1 re-encrypted" in second_run.getvalue()
