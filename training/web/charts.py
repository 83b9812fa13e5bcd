"""Server-rendered SVG charts for the dashboards: no front-end build, no network at run time.

Pure functions from numbers to SVG text. Every bar or segment is a link (``<a href>``) to the
records behind it and carries a ``<title>`` (a tooltip, and what a screen reader reads); every
number is also written as text beside its bar, so the chart reads without colour. All text is
XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#2f6fb0", "#7fb3e0", "#3c9d6d", "#e0a030", "#8e5cb5", "#c0504d", "#6b7b8c")
FONT = "font-family=\"system-ui, 'Noto Sans CJK SC', sans-serif\" font-size=\"12\""


@dataclass(frozen=True, slots=True)
class Bar:
    """One value: its series label, the number, and the link to the records behind it."""

    label: str
    value: float
    href: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a chart (a city, a mode): its label and its bars or segments."""

    label: str
    bars: Sequence[Bar] = field(default_factory=tuple)
    href: str = ""


def _text_width(text: str) -> float:
    """Rough width in pixels at 12 px: CJK characters are square, Latin ones about half."""
    return sum(12 if ord(ch) > 0x2E80 else 7 for ch in text)


def _label_width(groups: Sequence[Group], given: int | None) -> int:
    if given is not None:
        return given
    return int(min(280, max(60, max((_text_width(g.label) for g in groups), default=0) + 12)))


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _link(href: str, body: str) -> str:
    return f"<a href={quoteattr(href)}>{body}</a>" if href else body


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {FONT}>'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _legend(series: Sequence[str], y: float, left: float) -> list[str]:
    parts, x = [], left
    for index, name in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name))
        x += 24 + 13 * len(name)
    return parts


def grouped_bars(title: str, series: Sequence[str], groups: Sequence[Group], *, width: int = 720,
                 label_width: int | None = None, bar_height: int = 12, gap: int = 10) -> str:
    """Horizontal grouped bars: per group one bar per series, lengths proportional to the value."""
    label_width = _label_width(groups, label_width)
    scale_max = max((bar.value for g in groups for bar in g.bars), default=0) or 1
    value_width = 70
    plot = width - label_width - value_width
    group_height = bar_height * max(len(series), 1) + gap
    top = 26
    body = _legend(series, 14, label_width)
    for row, group in enumerate(groups):
        y0 = top + row * group_height
        body.append(_link(group.href, _text(label_width - 6, y0 + group_height / 2, group.label, "end")))
        for index, bar in enumerate(group.bars):
            y = y0 + index * bar_height
            length = plot * max(bar.value, 0) / scale_max
            colour = PALETTE[index % len(PALETTE)]
            tip = f"{group.label} · {bar.label}: {_number(bar.value)}"
            shape = (f'<rect class="chart-bar" x="{label_width}" y="{y:.1f}" width="{length:.2f}" '
                     f'height="{bar_height - 2}" fill="{colour}" data-value="{bar.value}">'
                     f"<title>{escape(tip)}</title></rect>"
                     + _text(label_width + length + 4, y + bar_height - 3, _number(bar.value), extra=' font-size="10"'))
            body.append(_link(bar.href, shape))
    height = top + len(groups) * group_height + 6
    return _svg(width, height, title, body)


def stacked_bars(title: str, series: Sequence[str], groups: Sequence[Group], *, width: int = 720,
                 label_width: int | None = None, bar_height: int = 18, gap: int = 8) -> str:
    """Horizontal stacked bars: each group's segments side by side, on one scale for all groups."""
    label_width = _label_width(groups, label_width)
    scale_max = max((sum(max(b.value, 0) for b in g.bars) for g in groups), default=0) or 1
    value_width = 70
    plot = width - label_width - value_width
    top = 26
    body = _legend(series, 14, label_width)
    for row, group in enumerate(groups):
        y = top + row * (bar_height + gap)
        body.append(_link(group.href, _text(label_width - 6, y + bar_height - 5, group.label, "end")))
        x = float(label_width)
        total = 0.0
        for index, bar in enumerate(group.bars):
            length = plot * max(bar.value, 0) / scale_max
            total += max(bar.value, 0)
            colour = PALETTE[index % len(PALETTE)]
            tip = f"{group.label} · {bar.label}: {_number(bar.value)}"
            body.append(_link(bar.href, (
                f'<rect class="chart-segment" x="{x:.2f}" y="{y:.1f}" width="{length:.2f}" height="{bar_height}" '
                f'fill="{colour}" data-value="{bar.value}"><title>{escape(tip)}</title></rect>')))
            x += length
        body.append(_text(x + 4, y + bar_height - 5, _number(total), extra=' font-size="10"'))
    height = top + len(groups) * (bar_height + gap) + 4
    return _svg(width, height, title, body)
