"""What each role's dashboard shows. Apps add their panels here as they grow."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.roles import Role


def dashboard_context(*, user: User) -> dict[str, Any]:
    context: dict[str, Any] = {"role": user.role}
    if user.role == Role.DEALER:
        context["organisation"] = user.dealer_organisation
    return context
