"""Charts drawn on the server as SVG with pygal (a Python package: no CDN, no Node step,
nothing loaded from the internet — ENGINEERING.md "Web UI"). pygal's tooltips script is
hosted on the internet, so it is switched off (``js=[]``): the SVG is static, its
values are in the tables beside it.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pygal
from django.utils.safestring import mark_safe
from pygal.style import Style

from .engine import Chart

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family='"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif',
    colors=("#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"),
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=11,
    title_font_size=13,
    value_font_size=10,
)
COMMENT = re.compile(r"<!--.*?-->", re.S)
KINDS = {
    "bar": pygal.Bar,
    "hbar": pygal.HorizontalBar,
    "line": pygal.Line,
    "pie": pygal.Pie,
    "funnel": pygal.Funnel,
}


def _number(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def svg(chart: Chart, *, width: int = 640, height: int = 300) -> str:
    """``chart`` as inline SVG markup (safe to put in a page)."""
    cls = KINDS.get(chart.kind, pygal.Bar)
    drawing = cls(
        style=STYLE,
        js=[],
        width=width,
        height=height,
        explicit_size=False,
        show_legend=len(chart.series) > 1 or chart.kind == "pie",
        legend_at_bottom=True,
        x_label_rotation=30 if len(chart.labels) > 6 else 0,
        truncate_label=12,
        print_values=chart.kind in ("bar", "hbar", "funnel") and len(chart.labels) <= 12,
        margin=8,
        no_data_text="暂无数据",
    )
    if chart.kind == "pie":
        values = chart.series[0][1] if chart.series else []
        for label, value in zip(chart.labels, values, strict=False):
            if value:
                drawing.add(str(label), _number(value))
    else:
        drawing.x_labels = [str(label) for label in chart.labels]
        for name, values in chart.series:
            drawing.add(str(name), [_number(v) for v in values])
    markup = drawing.render(is_unicode=True, disable_xml_declaration=True)
    return mark_safe(COMMENT.sub("", markup))  # noqa: S308  (pygal escapes the labels)
