"""The template filters that show minor units the way customers read them."""

from __future__ import annotations

from django.template import Context, Template


def render(source: str, **context) -> str:
    return Template("{% load money %}" + source).render(Context(context))


def test_money_shows_major_units_with_separators_and_currency():
    assert render("{{ amount|money:'EUR' }}", amount=1_234_567) == "12,345.67 EUR"
    assert render("{{ amount|money:'JPY' }}", amount=-5) == "-5 JPY"


def test_major_shows_the_bare_figure_for_a_column_headed_with_the_currency():
    assert render("{{ amount|major:'EUR' }}", amount=48657) == "486.57"
    assert render("{{ amount|major }}", amount=5) == "0.05"


def test_no_amount_renders_nothing():
    assert render("{{ amount|money }}|{{ amount|major }}", amount=None) == "|"
