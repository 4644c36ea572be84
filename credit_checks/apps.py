from django.apps import AppConfig


class CreditChecksConfig(AppConfig):
    """Dealers' credit checks from verifiable presentations: requests, consent, verdicts under versioned policies,
    review and contest, dealer webhooks, and the customer's payment-history credential."""

    name = "credit_checks"
    verbose_name = "Credit checks"

    def ready(self) -> None:
        # Leasing applies credit-check verdicts to its applications without importing this app: it asks the sources
        # registered here (the dependency runs credit_checks -> leasing, never back).
        from credit_checks.selectors import credit_check_verdicts_for_lease_applications
        from leasing.services.credit_verdicts import credit_verdict_source_register

        credit_verdict_source_register(credit_check_verdicts_for_lease_applications)

        # The payment-history credential is offered through identity's OpenID4VCI issuer, which must not import this
        # app: its configuration is registered from here.
        from credit_checks.payment_history import payment_history_configuration_register

        payment_history_configuration_register()

        # The credit check is an OpenID4VP request: identity's verifier hands its answers to this app.
        from credit_checks.openid4vp import credit_check_handler_register

        credit_check_handler_register()
