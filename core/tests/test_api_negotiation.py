"""Content negotiation: DRF's answers, remembered per Accept header, format and renderers."""

from __future__ import annotations

import pytest
from rest_framework import negotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer, StaticHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core import negotiation as cached


class _Json(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class _JsonOrHtml(_Json):
    renderer_classes = [JSONRenderer, StaticHTMLRenderer]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"} if request.accepted_renderer.format == "json" else "<p>ok</p>")


@pytest.fixture(autouse=True)
def _forget() -> None:
    cached._NEGOTIATED.clear()


@pytest.fixture
def rankings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    ranked: list[object] = []
    real = negotiation.order_by_precedence

    def counted(media_types: list[str]) -> object:
        ranked.append(media_types)
        return real(media_types)

    monkeypatch.setattr(negotiation, "order_by_precedence", counted)
    return ranked


def _get(view: type[APIView], path: str = "/", **headers: str) -> Response:
    response = view.as_view()(APIRequestFactory().get(path, **headers))
    response.render()
    return response


def test_the_api_uses_the_cached_negotiation() -> None:
    assert isinstance(_Json().get_content_negotiator(), cached.CachedContentNegotiation)


def test_the_same_accept_header_is_ranked_once(rankings) -> None:
    first = _get(_Json)
    second = _get(_Json)

    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == second["Content-Type"] == "application/json"
    assert len(rankings) == 1


@pytest.mark.parametrize(
    ("accept", "content_type"),  # the media type DRF accepts (the renderer's output may use its parameters)
    [
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/json; indent=4", "application/json; indent=4"),
        ("text/html;q=0.5, application/json", "application/json"),
    ],
)
def test_each_header_gets_drfs_own_answer_twice(accept: str, content_type: str) -> None:
    for _ in range(2):
        response = _get(_Json, HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response.accepted_media_type == content_type


def test_the_renderer_follows_the_header_and_the_format() -> None:
    for _ in range(2):
        assert _get(_JsonOrHtml, HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")
        assert _get(_JsonOrHtml, HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
        assert _get(_JsonOrHtml, "/?format=html")["Content-Type"].startswith("text/html")
        assert _get(_JsonOrHtml, "/?format=json")["Content-Type"] == "application/json"


def test_refusals_are_drfs_and_not_remembered() -> None:
    for _ in range(2):
        assert _get(_Json, HTTP_ACCEPT="text/html").status_code == 406
        assert _get(_Json, "/?format=xml").status_code == 404
    assert cached._NEGOTIATED == {}


def test_the_remembered_answers_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cached, "_NEGOTIATED_MAX", 3)
    for index in range(10):
        assert _get(_Json, HTTP_ACCEPT=f"application/json, text/x-{index}").status_code == 200
    assert len(cached._NEGOTIATED) == 3
