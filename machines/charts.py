"""An SVG chart of energy (bars, kWh) and spending (line, EUR) per day, laid out here so templates only print it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
        kwh = Decimal(point.energy_wh) / 1000
        eur = Decimal(point.spent).scaleb(-2)
        bars.append(
            Bar(
                x + slot // 6,
                HEIGHT - PADDING - bar_height,
                max(2, slot * 2 // 3),
                bar_height,
                point.day.strftime("%d.%m"),
                f"{point.day.isoformat()}: {kwh:.1f} kWh, {eur:.2f} EUR",
            )
        )
        line.append(f"{x + slot // 2},{HEIGHT - PADDING - plot_height * point.spent // max_spent}")
    return Chart(
        WIDTH,
        HEIGHT,
        bars,
        " ".join(line),
        f"{Decimal(max_energy) / 1000:.1f}",
        f"{Decimal(max_spent).scaleb(-2):.2f}",
        HEIGHT - PADDING,
    )
