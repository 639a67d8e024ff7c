"""The sales-over-time chart, drawn on the server as SVG (no JavaScript, no
library to fetch): tickets sold, cumulative, by hour or day, against the
event's capacity."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


@dataclass(frozen=True)
class Point:
    at: datetime
    total: int


def bucket_size(first: datetime, last: datetime) -> timedelta:
    """Hours for sales within three days, days otherwise."""
    return timedelta(hours=1) if last - first <= timedelta(days=3) else timedelta(1)


def cumulative(sales: list[tuple[datetime, int]]) -> tuple[list[Point], timedelta]:
    """Sum (time, tickets) into cumulative points at the end of each bucket."""
    if not sales:
        return [], timedelta(hours=1)
    sales = sorted(sales)
    step = bucket_size(sales[0][0], sales[-1][0])
    start = timezone.localtime(sales[0][0])
    if step == timedelta(1):
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = start.replace(minute=0, second=0, microsecond=0)
    points = [Point(start, 0)]
    total = 0
    index = 0
    edge = start + step
    while index < len(sales):
        while index < len(sales) and sales[index][0] < edge:
            total += sales[index][1]
            index += 1
        points.append(Point(edge, total))
        edge += step
    return points, step


def sales_svg(
    sales: list[tuple[datetime, int]], *, capacity: int, title: str
) -> SafeString:
    """Return the chart as an inline SVG element."""
    points, step = cumulative(sales)
    top_value = max([capacity, *(p.total for p in points), 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top_value

    parts = [
        f'<svg class="sales-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="chart-title" width="100%"'
        f' preserveAspectRatio="xMidYMid meet"'
        f' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}"'
        f' y2="{TOP + plot_h}" stroke="currentColor" stroke-opacity="0.5"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"'
        f' stroke="currentColor" stroke-opacity="0.5"/>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end"'
        f' font-size="12" fill="currentColor">0</text>',
        f'<text x="{LEFT - 6}" y="{y(top_value) + 10:.1f}" text-anchor="end"'
        f' font-size="12" fill="currentColor">{top_value}</text>',
    ]
    cap_y = y(capacity)
    # Outside the f-string: xgettext does not look inside one.
    cap_label = _("capacity %(seats)d") % {"seats": capacity}
    parts.append(
        f'<line class="capacity" x1="{LEFT}" y1="{cap_y:.1f}" x2="{WIDTH - RIGHT}"'
        f' y2="{cap_y:.1f}" stroke="#c0392b" stroke-dasharray="6 4"/>'
        f'<text x="{WIDTH - RIGHT}" y="{cap_y - 4:.1f}" text-anchor="end"'
        f' font-size="12" fill="#c0392b">'
        f"{escape(cap_label)}</text>"
    )
    if len(points) >= 2:
        first, last = points[0].at, points[-1].at
        span = (last - first).total_seconds() or 1

        def x(at: datetime) -> float:
            return LEFT + plot_w * (at - first).total_seconds() / span

        line = " ".join(f"{x(p.at):.1f},{y(p.total):.1f}" for p in points)
        parts.append(
            f'<polyline class="sold" points="{line}" fill="none"'
            f' stroke="#2e86de" stroke-width="2.5"/>'
        )
        fmt = "SHORT_DATETIME_FORMAT" if step < timedelta(1) else "SHORT_DATE_FORMAT"
        for at, anchor, pos in ((first, "start", LEFT), (last, "end", WIDTH - RIGHT)):
            label = formats.date_format(timezone.localtime(at), fmt)
            parts.append(
                f'<text x="{pos}" y="{HEIGHT - 12}" text-anchor="{anchor}"'
                f' font-size="12" fill="currentColor">{escape(label)}</text>'
            )
        final = points[-1].total
        parts.append(
            f'<text class="sold-total" x="{x(last):.1f}" y="{y(final) - 6:.1f}"'
            f' text-anchor="end" font-size="13" fill="#2e86de">{final}</text>'
        )
    else:
        no_sales = _("No sales yet")
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle"'
            f' font-size="14" fill="currentColor">{escape(no_sales)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
