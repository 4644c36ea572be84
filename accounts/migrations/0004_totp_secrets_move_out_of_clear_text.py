"""Moves every django-otp TOTP device into EncryptedTotpDevice, its hex secret encrypted, and deletes the clear rows.

Sessions verified with an old device ask for the second factor again (the device's persistent id changes); the
authenticator apps keep working, as the secret is the same.
"""

from binascii import unhexlify

from django.db import migrations

from core.encryption import field_decrypt, field_encrypt


def _context(user_id: int) -> bytes:
    return f"totp-device:{user_id}".encode()


def secrets_encrypt(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    EncryptedTotpDevice = apps.get_model("accounts", "EncryptedTotpDevice")
    for device in TOTPDevice.objects.order_by("pk").iterator():
        EncryptedTotpDevice.objects.create(
            user_id=device.user_id, name=device.name, confirmed=device.confirmed,
            encrypted_key=field_encrypt(plaintext=unhexlify(device.key), context=_context(device.user_id)),
            step=device.step, t0=device.t0, digits=device.digits, tolerance=device.tolerance, drift=device.drift,
            last_t=device.last_t, throttling_failure_timestamp=device.throttling_failure_timestamp,
            throttling_failure_count=device.throttling_failure_count, created_at=device.created_at,
            last_used_at=device.last_used_at,
        )  # fmt: skip
    TOTPDevice.objects.all().delete()


def secrets_decrypt(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    EncryptedTotpDevice = apps.get_model("accounts", "EncryptedTotpDevice")
    for device in EncryptedTotpDevice.objects.order_by("pk").iterator():
        key = field_decrypt(blob=bytes(device.encrypted_key), context=_context(device.user_id)).hex()
        TOTPDevice.objects.create(
            user_id=device.user_id, name=device.name, confirmed=device.confirmed, key=key, step=device.step,
            t0=device.t0, digits=device.digits, tolerance=device.tolerance, drift=device.drift, last_t=device.last_t,
        )  # fmt: skip
    EncryptedTotpDevice.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_totp_secret_encrypted_and_recovery_codes"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(secrets_encrypt, secrets_decrypt)]
