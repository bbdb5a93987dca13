"""The staff dashboard's SVG charts (bot/staff/charts.py), drawn from plain figures."""

from __future__ import annotations

import re

from bot.staff.charts import stacked_weeks


def test_the_weekly_legend_stays_inside_the_drawing_and_names_categories():
    """Six categories had legend entries placed past the 640 px width, out of sight."""
    codes = [f"kasko-{n}" for n in range(6)]
    per_week = {"2026-W49": {code: 1 for code in codes}, "2026-W50": {codes[0]: 2}}
    names = {code: f"Category {n}" for n, code in enumerate(codes)}
    svg = stacked_weeks("Feedback per week", per_week, names)
    width, height = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    for x, y in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" font-size="11">Category', svg):
        assert float(x) + 100 <= width and float(y) <= height
    assert all(name in svg for name in names.values()) and "kasko-0" not in svg
