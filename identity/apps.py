from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Keys, DIDs, credentials, status lists, the trust registry and Tangle anchoring."""

    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from identity.openid4vci.configurations import demo_configurations_register

        demo_configurations_register()
        # Apps above identity register their own configurations from their AppConfig.ready() (credit_checks: the
        # payment-history credential), since identity imports none of them.
