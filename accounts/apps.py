from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, dealer organisations, second factors and API tokens."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import (
            schema,  # noqa: F401 - registers the OpenAPI description of the token authentication
            signals,
        )

        signals.connect()
