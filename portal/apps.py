from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Site-wide pieces: dashboards, health checks, the API error contract and the start-up command."""

    name = "portal"
    verbose_name = "Portal"
