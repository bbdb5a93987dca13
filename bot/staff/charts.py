"""Server-rendered SVG charts for the quality dashboard: no chart library, no CDN.

Each chart has a <title> and a text table beside it in the page, so screen-reader
users get the same figures. Labels are escaped (they can be topic ids or text).
"""

from __future__ import annotations

from html import escape

# Helsinki Design System colours: bus, coat of arms, tram, summer, copper, fog.
PALETTE = ("#0000bf", "#0072c6", "#008741", "#ffc61e", "#00d7a7", "#9fc9eb")
BAR_HEIGHT = 22
GAP = 8


def horizontal_bars(title: str, values: dict[str, float], unit: str = "") -> str:
    """One bar per label, longest first; the value is written at the bar's end."""
    items = sorted(values.items(), key=lambda item: item[1], reverse=True)
    width, label_width = 640, 220
    height = max(1, len(items)) * (BAR_HEIGHT + GAP) + GAP
    top = max((v for _, v in items), default=0) or 1
    rows = []
    for index, (label, value) in enumerate(items):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = (width - label_width - 80) * value / top
        rows.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(str(label))}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 16}">{value:g}{escape(unit)}</text>'
        )
    return (
        f'<svg role="img" aria-labelledby="t-{abs(hash(title))}" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart"><title id="t-{abs(hash(title))}">{escape(title)}</title>'
        + "".join(rows)
        + "</svg>"
    )


LEGEND_COLUMNS = 3  # legend entries per row: six categories fit in two rows of 640 px
LEGEND_ROW = 18


def stacked_weeks(
    title: str, per_week: dict[str, dict[str, int]], names: dict[str, str] | None = None
) -> str:
    """Feedback per category per week: one stacked column per week, with a legend
    (`names`: a category code's name, as staff read it)."""
    names = names or {}
    weeks = list(per_week)
    categories = sorted({code for counts in per_week.values() for code in counts})
    legend_rows = -(-len(categories) // LEGEND_COLUMNS)
    width, chart_height, bottom, left = 640, 260, 40, 40
    height = chart_height + legend_rows * LEGEND_ROW
    top = max((sum(c.values()) for c in per_week.values()), default=0) or 1
    column = (width - left - 20) / max(1, len(weeks))
    parts = []
    for index, week in enumerate(weeks):
        x = left + index * column + 4
        y = chart_height - bottom
        for number, code in enumerate(categories):
            count = per_week[week].get(code, 0)
            size = (chart_height - bottom - 20) * count / top
            y -= size
            color = PALETTE[number % len(PALETTE)]
            label = escape(names.get(code, code))
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{column - 8:.1f}" height="{size:.1f}" '
                f'fill="{color}"><title>{escape(week)} {label}: {count}</title></rect>'
            )
        parts.append(
            f'<text x="{x + (column - 8) / 2:.1f}" y="{chart_height - bottom + 16}" '
            f'text-anchor="middle" font-size="11">{escape(week)}</text>'
        )
    entry_width = (width - left) / LEGEND_COLUMNS
    legend = []
    for i, code in enumerate(categories):
        x = left + (i % LEGEND_COLUMNS) * entry_width
        y = chart_height - 14 + (i // LEGEND_COLUMNS) * LEGEND_ROW
        legend.append(
            f'<rect x="{x:.0f}" y="{y}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{x + 14:.0f}" y="{y + 9}" '
            f'font-size="11">{escape(names.get(code, code))}</text>'
        )
    legend = "".join(legend)
    return (
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" class="chart"><title>{escape(title)}</title>'
        + "".join(parts)
        + legend
        + "</svg>"
    )
