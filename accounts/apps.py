from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, dealer organisations, second factors and API tokens."""

    name = "accounts"
    verbose_name = "Accounts"
