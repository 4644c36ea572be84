from django.apps import AppConfig


class CreditChecksConfig(AppConfig):
    """Dealers' credit checks from verifiable presentations: requests, consent, verdicts under versioned policies,
    review and contest, dealer webhooks, and the customer's payment-history credential."""

    name = "credit_checks"
    verbose_name = "Credit checks"
