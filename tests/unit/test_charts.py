"""The server-rendered SVG charts: well-formed, bars proportional, every bar a link, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from training.web import charts

NS = {"svg": "http://www.w3.org/2000/svg"}
HREF = "href"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output; raises on malformed XML


def rects(root: ET.Element, cls: str) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == cls]


def links(root: ET.Element) -> list[ET.Element]:
    return list(root.iter("{http://www.w3.org/2000/svg}a"))


def test_grouped_bar_lengths_are_proportional_to_the_values() -> None:
    groups = [charts.Group("济南市", [charts.Bar("计划", 200, "/x?a=1"), charts.Bar("在册", 50, "/x?a=2")]),
              charts.Group("青岛市", [charts.Bar("计划", 100, "/x?a=3"), charts.Bar("在册", 0, "/x?a=4")])]
    root = parse(charts.grouped_bars("计划与实际", ["计划", "在册"], groups))
    bars = rects(root, "chart-bar")
    assert len(bars) == 4
    widths = [float(b.get("width")) for b in bars]
    values = [200, 50, 100, 0]
    assert widths[3] == 0
    for width, value in zip(widths, values, strict=True):
        assert width == pytest.approx(widths[0] * value / 200, abs=0.01)


def test_stacked_segments_share_one_scale_across_groups() -> None:
    groups = [charts.Group("A", [charts.Bar("按时", 3), charts.Bar("逾期", 1)]),
              charts.Group("B", [charts.Bar("按时", 1), charts.Bar("逾期", 1)])]
    root = parse(charts.stacked_bars("备案", ["按时", "逾期"], groups))
    segments = [float(r.get("width")) for r in rects(root, "chart-segment")]
    assert segments[0] == pytest.approx(3 * segments[1], abs=0.01)
    assert segments[2] == pytest.approx(segments[1], abs=0.01)
    # B's total is half of A's
    assert segments[2] + segments[3] == pytest.approx((segments[0] + segments[1]) / 2, abs=0.01)
    xs = [float(r.get("x")) for r in rects(root, "chart-segment")]
    assert xs[1] == pytest.approx(xs[0] + segments[0], abs=0.01)  # side by side


def test_every_bar_links_to_the_records_behind_it_and_has_a_title() -> None:
    groups = [charts.Group("济南市", [charts.Bar("逾期未备案", 2, "/dashboard/cohorts?figure=overdue&city=370100")])]
    root = parse(charts.grouped_bars("备案", ["逾期未备案"], groups))
    (link,) = links(root)
    assert link.get(HREF) == "/dashboard/cohorts?figure=overdue&city=370100"
    bar = link.find("svg:rect", NS)
    assert bar is not None
    assert bar.find("svg:title", NS).text == "济南市 · 逾期未备案: 2"
    assert root.find("svg:title", NS).text == "备案"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "2" in texts and "济南市" in texts  # the number is readable without the bar


def test_text_and_links_are_escaped() -> None:
    nasty = '<script>alert("x")</script> & \'q\''
    groups = [charts.Group(nasty, [charts.Bar(nasty, 1, '/x?a=1&b="2"')])]
    svg = charts.grouped_bars(nasty, [nasty], groups)
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find("svg:title", NS).text == nasty
    assert links(root)[0].get(HREF) == '/x?a=1&b="2"'
    assert nasty in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_empty_and_all_zero_charts_are_still_valid() -> None:
    assert rects(parse(charts.grouped_bars("空", ["a"], [])), "chart-bar") == []
    root = parse(charts.stacked_bars("零", ["a"], [charts.Group("x", [charts.Bar("a", 0)])]))
    assert [float(r.get("width")) for r in rects(root, "chart-segment")] == [0.0]
    assert links(root) == []  # no href, no link
