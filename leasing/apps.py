from django.apps import AppConfig


class LeasingConfig(AppConfig):
    """Lease products, quotes and APRC, applications, contracts, schedules and collections."""

    name = "leasing"
    verbose_name = "Leasing"

    def ready(self) -> None:
        from leasing.notifications import notification_kinds_register

        notification_kinds_register()
