"""OpenAPI generation: nested `Input`/`Output` serializers are named after the API class that holds them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class PortalAutoSchema(AutoSchema):
    """`QrRedemptionCreateApi.InputSerializer` becomes the component `QrRedemptionCreateInput`."""

    def _get_serializer_name(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        parts = cls.__qualname__.split(".")
        if len(parts) >= 2 and parts[-2].endswith("Api"):
            owner = parts[-2].removesuffix("Api")
            nested = parts[-1].removesuffix("Serializer")
            return owner + nested + (name[len(nested) :] if name.startswith(nested) else "")
        return name
