from typing import Any

from django.core.management.base import BaseCommand

from portal.demo import demo_data_load


class Command(BaseCommand):
    help = "Creates the demo users and organisations (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for login in demo_data_load():
            self.stdout.write(f"{login.role.label:12} {login.email}")
