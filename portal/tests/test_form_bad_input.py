"""Bad input to every form of the portal's pages: missing, oversized, wrongly typed and malformed fields.

The forms are not listed by hand: every page of the authorization matrices is opened as each role that may see it,
every POST form on it is read from the HTML, and each form is submitted with each kind of bad input. No answer may
be a 5xx, and a refused form must say why on the page (next to the field, or above the form). The API endpoints get
the same treatment from the schemathesis run in test_api_fuzzing.py.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from accounts.roles import Role
from conftest import login_client
from portal.authorization import Case
from portal.tests.test_authorization_matrix import CASES

ROLES = {"customer": Role.CUSTOMER, "dealer": Role.DEALER, "back_office": Role.BACK_OFFICE}
NOT_HTML = (".json", ".png", ".svg", ".pdf", ".csv", "/did.json")
BAD_INPUTS = {
    "missing": lambda name: None,
    "oversized": lambda name: "9" * 100_001,
    "wrongly typed": lambda name: "not a number, not a date, not a choice ✗",
    "malformed": lambda name: "\u202e<script>alert(1)</script>%00'; DROP TABLE x;--\udcff",
}


class _Forms(HTMLParser):
    """The POST forms of a page: (action, field names, file field names)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[str], list[str]]] = []
        self._current: tuple[str, list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self._current = (values.get("action") or "", [], [])
        elif self._current is not None and tag in ("input", "select", "textarea") and values.get("name"):
            name = values["name"]
            if name == "csrfmiddlewaretoken" or values.get("type") in ("submit", "button"):
                return
            (self._current[2] if values.get("type") == "file" else self._current[1]).append(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def _page_cases() -> list[tuple[Case, str]]:
    return [
        (case, visitor)
        for case in CASES
        for visitor, status in case.expected.items()
        if case.method == "GET"
        and status == 200
        and visitor in ROLES
        and not case.path.startswith(("/api/", "/credentials", "/presentations", "/.well-known", "/health"))
        and not case.path.endswith(NOT_HTML)
    ]


def _body(names: list[str], kind: str, csrf: str) -> dict[str, object]:
    body: dict[str, object] = {"csrfmiddlewaretoken": csrf}
    value = BAD_INPUTS[kind]
    for name in names:
        if value(name) is not None:
            body[name] = value(name).replace("\udcff", "\ufffd") if kind == "malformed" else value(name)
    return body


@pytest.mark.django_db
@pytest.mark.parametrize(("case", "visitor"), [pytest.param(c, v, id=f"{c.name}-{v}") for c, v in _page_cases()])
def test_every_form_refuses_bad_input_without_a_5xx_and_says_why(case: Case, visitor: str, make_user):
    user = make_user(ROLES[visitor])
    client = login_client(user)
    path = case.path.format(object=case.make_object(user)) if case.make_object is not None else case.path
    page = client.get(path)
    assert page.status_code == 200
    if not page["Content-Type"].startswith("text/html"):
        return  # a document (PDF) behind an HTML-looking path: no form to fill
    parser = _Forms()
    parser.feed(page.content.decode())
    for action, names, _file_names in parser.forms:
        target = action or path
        if not target.startswith("/") or target.startswith("/accounts/logout"):
            continue
        for kind in BAD_INPUTS:
            csrf = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
            body = _body(names, kind, csrf)
            response = client.post(target, body)
            assert response.status_code < 500, (target, kind, response.status_code)
            if response.status_code == 400:
                text = response.content.decode()
                assert response["Content-Type"].startswith("text/html"), (target, kind, text[:200])
                assert 'class="field-error"' in text or 'class="form-errors"' in text, (target, kind)
