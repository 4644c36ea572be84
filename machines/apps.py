from django.apps import AppConfig


class MachinesConfig(AppConfig):
    """Vehicles and charging stations, their wallets, the OCPP gateway, metering and M2M payments."""

    name = "machines"
    verbose_name = "Machines"

    def ready(self) -> None:
        from machines.notifications import notification_kinds_register

        notification_kinds_register()
