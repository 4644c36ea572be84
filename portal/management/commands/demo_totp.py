import base64
from typing import Any

from django.core.management.base import BaseCommand
from django_otp.oath import totp

from accounts.models import EncryptedTotpDevice
from portal.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Prints the current second-factor code and secret of each demo staff user (demo data only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", help="Print only this user's current code.")

    def handle(self, *args: Any, **options: Any) -> None:
        emails = [login.email for login in DEMO_LOGINS]
        devices = EncryptedTotpDevice.objects.filter(user__email__in=emails, confirmed=True).select_related("user")
        for device in devices:
            code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
            if options["email"]:
                if device.user.email == options["email"]:
                    self.stdout.write(code)
                continue
            secret = base64.b32encode(device.bin_key).decode().rstrip("=")
            self.stdout.write(f"{device.user.email:30} code {code}   secret {secret}")
