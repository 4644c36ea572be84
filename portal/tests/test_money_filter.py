"""The template filters that show minor units the way customers read them."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation


def render(source: str, **context) -> str:
    return Template("{% load money %}" + source).render(Context(context))


def test_money_shows_major_units_with_separators_and_currency_sign_of_the_language():
    with translation.override("en"):
        assert render("{{ amount|money:'EUR' }}", amount=1_234_567) == "€12,345.67"
        assert render("{{ amount|money:'JPY' }}", amount=-5) == "-JP¥5"
    with translation.override("de"):
        assert render("{{ amount|money:'EUR' }}", amount=123_456) == "1.234,56\xa0€"


def test_major_shows_the_bare_figure_for_a_column_headed_with_the_currency():
    with translation.override("en"):
        assert render("{{ amount|major:'EUR' }}", amount=48657) == "486.57"
        assert render("{{ amount|major }}", amount=5) == "0.05"
    with translation.override("de"):
        assert render("{{ amount|major:'EUR' }}", amount=123_456) == "1.234,56"


def test_no_amount_renders_nothing():
    assert render("{{ amount|money }}|{{ amount|major }}", amount=None) == "|"
