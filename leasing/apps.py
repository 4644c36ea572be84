from django.apps import AppConfig


class LeasingConfig(AppConfig):
    """Lease products, quotes and APRC, applications, contracts, schedules and collections."""

    name = "leasing"
    verbose_name = "Leasing"

    def ready(self) -> None:
        from leasing.notifications import notification_kinds_register

        notification_kinds_register()
        # The identity check is an OpenID4VP request: identity's verifier hands its answers to leasing.
        from leasing.services.identity_checks import identity_check_handler_register

        identity_check_handler_register()
