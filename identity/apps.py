from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Keys, DIDs, credentials, status lists, the trust registry and Tangle anchoring."""

    name = "identity"
    verbose_name = "Identity"
