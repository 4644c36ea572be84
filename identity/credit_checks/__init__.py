"""Dealer credit checks through presented credentials: policy rules, webhook signing and delivery, the portal's
payment-history credential and the Celery tasks of the flow (the main flow lives in identity.services.credit_checks)."""
