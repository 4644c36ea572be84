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


ERROR_STATUSES = {
    "400": "Malformed or invalid input.",
    "401": "Not authenticated.",
    "403": "Authenticated, but this role or object is not allowed.",
    "404": "Not found, or not visible to the caller.",
    "405": "Method not allowed.",
    "409": "Conflicts with the current state.",
    "415": "Unsupported media type.",
    "422": "Well-formed, but breaks a business rule.",
    "429": "Rate limit exceeded.",
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Documents the one error shape `{"code", "detail", "fields"}` on every operation, for clients and fuzzers."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = {
        "type": "object",
        "required": ["code", "detail", "fields"],
        "properties": {
            "code": {"type": "string", "description": "Machine-readable reason, e.g. insufficient_balance."},
            "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": True},
        },
    }
    responses = components.setdefault("responses", {})
    for status, description in ERROR_STATUSES.items():
        responses[f"Error{status}"] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for status in ERROR_STATUSES:
                operation["responses"].setdefault(status, {"$ref": f"#/components/responses/Error{status}"})
    return result


def cursor_page(item_serializer: Any, *, name: str) -> Any:
    """The documented shape of a cursor-paginated list: `{"next", "previous", "results": [item, ...]}`."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )
