"""DRF's content negotiation with its answers remembered (`REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"]`).

A module of its own: DRF imports the negotiation class while it defines `APIView`, so this module must not import
`rest_framework.views` (core.api does).
"""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class CachedContentNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, its answer remembered per Accept header, format and renderer classes.

    DRF parses the Accept header into media types and ranks them on every request, for the same few headers each time.
    Its choice depends on nothing else, so it is made once for each combination (a bounded number of them: headers
    are the client's to choose) and then looked up. Refusals (406, 404 for an unknown format) are not remembered and
    come from DRF each time."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = renderers if isinstance(renderers, list) else list(renderers)  # DRF hands a list
        requested_format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (request.META.get("HTTP_ACCEPT", "*/*"), requested_format, tuple(type(r) for r in renderers))
        found = _NEGOTIATED.get(key)
        if found is not None:
            return renderers[found[0]], found[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(_NEGOTIATED) < _NEGOTIATED_MAX:
            _NEGOTIATED[key] = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
        return renderer, media_type


_NEGOTIATED: dict[tuple[str, str | None, tuple[type, ...]], tuple[int, str]] = {}
_NEGOTIATED_MAX = 256
