"""An SVG chart of energy (bars, kWh) and spending (line, EUR) per day, laid out here so templates only print it.

Days are the reader's calendar days (machines.selectors.energy_and_spending_by_day); labels and figures are written in
the active language ("06.12" / "6 Dec", "1.234,5 kWh", "12,30 €")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date

from core.locale_format import active_locale, format_day, format_decimal, format_money
from core.money import Money
from machines.selectors import ChartPoint

WIDTH, HEIGHT, PADDING = 640, 220, 30


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    line_points: str
    max_energy_kwh: str
    max_spent_eur: str
    baseline_y: int


def energy_spending_chart(points: list[ChartPoint]) -> Chart | None:
    """Bars scale to the largest day's energy, the line to the largest day's spending; None when there is no data."""
    if not points:
        return None
    plot_width, plot_height = WIDTH - 2 * PADDING, HEIGHT - 2 * PADDING
    slot = plot_width // len(points)
    max_energy = max(point.energy_wh for point in points) or 1
    max_spent = max(point.spent for point in points) or 1
    bars, line = [], []
    for index, point in enumerate(points):
        x = PADDING + index * slot
        bar_height = plot_height * point.energy_wh // max_energy
        kwh = format_decimal(Decimal(point.energy_wh) / 1000, places=1)
        spent = format_money(Money(point.spent, "EUR"))
        bars.append(
            Bar(
                x + slot // 6,
                HEIGHT - PADDING - bar_height,
                max(2, slot * 2 // 3),
                bar_height,
                format_date(
                    point.day, "dd.MM" if active_locale().startswith("de") else "d MMM", locale=active_locale()
                ),
                f"{format_day(point.day)}: {kwh} kWh, {spent}",
            )
        )
        line.append(f"{x + slot // 2},{HEIGHT - PADDING - plot_height * point.spent // max_spent}")
    return Chart(
        WIDTH,
        HEIGHT,
        bars,
        " ".join(line),
        format_decimal(Decimal(max_energy) / 1000, places=1),
        format_money(Money(max_spent, "EUR")),
        HEIGHT - PADDING,
    )
