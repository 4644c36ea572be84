"""Checkout of QR payment codes: the payment-provider interface, the sandbox card acquirer, SEPA transfers."""
