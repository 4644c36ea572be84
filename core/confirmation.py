"""A second step before an action that cannot be undone, on the server: works without JavaScript.

A view that blocks, voids, revokes, suspends or terminates calls `confirmation_page` first. A POST without
``confirmed=yes`` answers with a page that names the consequence and repeats the form's fields (hidden) with
``confirmed=yes`` to the same address; only that second POST reaches the action. The CSRF token travels anew.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

CONFIRMED_FIELD = "confirmed"


def confirmation_page(
    request: HttpRequest, *, title: str, consequence: str, action_label: str, back_url: str
) -> HttpResponse | None:
    """None when the POST carries the confirmation; else the page that asks for it (status 200, nothing changed)."""
    if request.POST.get(CONFIRMED_FIELD) == "yes":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", CONFIRMED_FIELD)
        for value in values
    ]
    if not url_has_allowed_host_and_scheme(back_url, allowed_hosts={request.get_host()}):
        back_url = "/"
    context = {
        "title": title,
        "consequence": consequence,
        "action_label": action_label,
        "fields": fields,
        "action_url": request.get_full_path(),
        "back_url": back_url,
    }
    return render(request, "confirm.html", context)
