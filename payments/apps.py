from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """The double-entry ledger, QR payment codes, checkout, settlement, payouts and invoices."""

    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from payments.notifications import notification_kinds_register

        notification_kinds_register()
