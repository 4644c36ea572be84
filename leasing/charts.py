"""A server-rendered SVG chart of the outstanding balance over the term (no script, safe under the strict CSP).

Words and amounts are written in the active language ("month 12" / "Monat 12", "€27,000" / "27.000 €")."""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.utils.translation import gettext, ngettext

from core.locale_format import format_money_whole
from leasing.calculations.schedule import Schedule

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 20, 40


def balance_chart_svg(*, schedule: Schedule) -> str:
    """A line of the principal still owed after each instalment, from the financed amount down to the residual."""
    terms = schedule.terms
    points = [(0, terms.financed_amount.amount)] + [
        (row.number, row.balance_after.amount) for row in schedule.instalments
    ]
    top_value = max(value for _, value in points) or 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(month: int) -> float:
        return LEFT + plot_width * month / terms.periods

    def y(value: int) -> float:
        return TOP + plot_height * (1 - value / top_value)

    path = " ".join(f"{x(month):.1f},{y(value):.1f}" for month, value in points)
    ticks = []
    for fraction in (0, 0.5, 1):
        value = int(top_value * fraction)
        label = escape(format_money_whole(value // 100, terms.currency))
        ticks.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="chart-label">{label}</text>'
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="chart-grid"/>'
        )
    title = escape(
        ngettext("Outstanding balance over %(count)s month", "Outstanding balance over %(count)s months", terms.periods)
        % {"count": terms.periods}
    )
    start = escape(gettext("month %(number)s") % {"number": 0})
    end = escape(gettext("month %(number)s") % {"number": terms.periods})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="balance-chart-title" class="balance-chart">'
        f'<title id="balance-chart-title">{title}</title>'
        f"{''.join(ticks)}"
        f'<polyline points="{path}" fill="none" stroke="#0b4f8a" stroke-width="2"/>'
        f'<text x="{LEFT}" y="{HEIGHT - 12}" class="chart-label">{start}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" text-anchor="end" class="chart-label">{end}</text>'
        "</svg>"
    )
