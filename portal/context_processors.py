"""Template context shared by every page: the navigation for the current user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.roles import Role


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    links: list[tuple[str, str]] = [("Home", reverse("portal:home"))]
    role = user.role if user is not None and user.is_authenticated else None
    if role in (Role.DEALER, Role.BACK_OFFICE):
        links.append(("API docs", reverse("api-docs")))
    return {"nav_links": links, "nav_role": role, "nav_role_label": Role(role).label if role else ""}
