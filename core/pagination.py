"""Pages of a long list: one helper every list view uses, so the page links keep the list's filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


@dataclass(frozen=True)
class ListPage:
    """One page of a list and the query string (without ``page``) its page links carry, e.g. ``query=a%40b&``."""

    page: Page[Any]
    filters: str

    @property
    def items(self) -> Any:
        return self.page.object_list


def list_page(request: HttpRequest, items: Any, *, per_page: int = PAGE_SIZE) -> ListPage:
    """The page the request asks for (``?page=N``); a number past the end shows the last page, nonsense the first."""
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    parameters = request.GET.copy()
    parameters.pop("page", None)
    encoded = parameters.urlencode()
    return ListPage(page=page, filters=f"{encoded}&" if encoded else "")
