from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Keys, DIDs, credentials, status lists, the trust registry, credit checks and Tangle anchoring."""

    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from identity.credit_checks.payment_history import payment_history_configuration_register
        from identity.openid4vci.configurations import demo_configurations_register

        demo_configurations_register()
        # The payment-history credential's claims come from credit checks; when credit checks become their own app,
        # this line moves to that app's AppConfig.ready() (identity must not import it).
        payment_history_configuration_register()
