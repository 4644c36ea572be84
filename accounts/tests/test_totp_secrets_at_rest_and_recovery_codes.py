"""Finding 10, "Keys" (second factor): TOTP secrets were stored in clear and staff had no way back in without their
phone. Secrets are now encrypted at rest (under the rotated field keys) and staff get one-time recovery codes."""

from __future__ import annotations

import base64
import importlib
import io

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import EncryptedTotpDevice, RecoveryCode
from accounts.tests.factories import TEST_PASSWORD
from core import encryption

pytestmark = pytest.mark.django_db


def _code(device: EncryptedTotpDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _all_cells(table: str) -> list[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a model's own table name
        rows = cursor.fetchall()
    return [bytes(cell) if isinstance(cell, memoryview) else str(cell).encode() for row in rows for cell in row]


def _enrol(client: Client, user) -> tuple[EncryptedTotpDevice, list[str]]:
    client.post(reverse("accounts:login"), {"email": user.email, "password": TEST_PASSWORD})
    client.get(reverse("accounts:mfa-setup"))
    device = EncryptedTotpDevice.objects.get(user=user)
    response = client.post(reverse("accounts:mfa-setup"), {"token": _code(device)})
    assert response.headers["Location"] == reverse("accounts:recovery-codes")
    codes = client.get(reverse("accounts:recovery-codes")).context["codes"]
    return device, codes


def test_totp_secrets_are_not_in_clear_in_the_database(client, dealer):
    device, _ = _enrol(client, dealer)
    secret = device.bin_key
    forms_of_the_secret = [secret, secret.hex().encode(), base64.b32encode(secret).rstrip(b"=")]

    cells = _all_cells(EncryptedTotpDevice._meta.db_table) + _all_cells(TOTPDevice._meta.db_table)

    assert len(secret) == 20
    assert not [cell for cell in cells for form in forms_of_the_secret if form in cell or form.lower() in cell]
    assert TOTPDevice.objects.count() == 0
    assert bytes(EncryptedTotpDevice.objects.get(pk=device.pk).encrypted_key)[:1] == encryption.VERSION


def test_the_migration_moves_clear_secrets_into_encrypted_devices(back_office):
    clear = TOTPDevice.objects.create(
        user=back_office, name="app", confirmed=True, key="3132333435363738393031323334353637383930"
    )
    migration = importlib.import_module("accounts.migrations.0004_totp_secrets_move_out_of_clear_text")

    migration.secrets_encrypt(apps, None)

    moved = EncryptedTotpDevice.objects.get(user=back_office)
    assert TOTPDevice.objects.filter(pk=clear.pk).exists() is False
    assert moved.bin_key == b"12345678901234567890"
    assert moved.confirmed is True
    assert b"3132333435" not in bytes(moved.encrypted_key)


def test_a_recovery_code_works_once_and_a_second_use_is_refused(dealer):
    first_client = Client()
    _, codes = _enrol(first_client, dealer)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert RecoveryCode.objects.filter(user=dealer).count() == 10
    assert not [code for code in codes if RecoveryCode.objects.filter(code_hash__contains=code).exists()]

    client = Client()
    client.post(reverse("accounts:login"), {"email": dealer.email, "password": TEST_PASSWORD})
    used = client.post(reverse("accounts:mfa-verify"), {"recovery_code": codes[3].upper()})

    assert used.headers["Location"] == reverse("accounts:recovery-codes")
    assert client.get(reverse("portal:home")).templates[0].name == "portal/dashboard_dealer.html"
    assert RecoveryCode.objects.filter(user=dealer, used_at__isnull=False).count() == 1

    again = Client()
    again.post(reverse("accounts:login"), {"email": dealer.email, "password": TEST_PASSWORD})
    refused = again.post(reverse("accounts:mfa-verify"), {"recovery_code": codes[3]})

    assert refused.status_code == 400
    assert refused.context["recovery_form"].errors["recovery_code"] == [
        "This recovery code is not valid or was already used."
    ]
    assert again.get(reverse("portal:home")).headers["Location"] == reverse("accounts:mfa-verify")
    assert RecoveryCode.objects.filter(user=dealer, used_at__isnull=False).count() == 1
    assert again.get(reverse("accounts:recovery-codes")).status_code == 302


def test_regenerating_recovery_codes_retires_the_earlier_ones(back_office):
    client = Client()
    _, old_codes = _enrol(client, back_office)

    page = client.post(reverse("accounts:recovery-codes"))
    new_codes = page.context["codes"]

    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert client.get(reverse("accounts:recovery-codes")).context["unused_count"] == 10
    assert services.recovery_code_use(user=back_office, code=old_codes[0]) is False
    assert services.recovery_code_use(user=back_office, code=new_codes[0]) is True
    assert services.recovery_code_use(user=back_office, code=new_codes[0]) is False


def test_totp_secrets_are_rotated_with_the_other_fields(dealer, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    device, _ = _enrol(Client(), dealer)
    secret = device.bin_key
    newest = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [newest, *settings.FIELD_ENCRYPTION_KEYS]

    call_command("field_keys_rotate", stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [newest]
    assert EncryptedTotpDevice.objects.get(pk=device.pk).bin_key == secret


def test_demo_staff_get_one_encrypted_device_and_demo_totp_prints_a_code_that_verifies():
    from django.core.management import call_command

    from portal.demo import DEMO_LOGINS, _people_load

    _people_load()
    _people_load()
    staff = [login for login in DEMO_LOGINS if login.role != "customer"]
    device = EncryptedTotpDevice.objects.get(user__email=staff[0].email)
    output = io.StringIO()

    call_command("demo_totp", "--email", staff[0].email, stdout=output)

    assert EncryptedTotpDevice.objects.filter(user__email__in=[login.email for login in staff]).count() == len(staff)
    assert device.verify_token(output.getvalue().strip()) is True
