"""SVG figures from the benchmarks' own runs, for docs/ — plain SVG, no plotting library.

`timeline_svg` draws one outage (benchmarks/outage.py): the service's state,
each command the owner gave and what became of it, the queue's depth and the
deliveries. `load_svg` draws the fleet simulation's requests per second for
each strategy against the service's capacity (benchmarks/fleet_sim.py).
Both are deterministic for a given run, so a regenerated figure changes only
when the behaviour does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
COLOURS = {
    "down": "#f4c7c3",
    "up": "#d9ead3",
    "sent": "#1b7837",
    "queued": "#e08214",
    "delivered": "#2166ac",
    "queue": "#762a83",
    "grid": "#cccccc",
    "text": "#222222",
}


@dataclass
class Timeline:
    """One outage, second by second (times relative to its start)."""

    outage_s: float
    end_s: float
    commands: list[tuple[float, str]] = field(default_factory=list)  # (t, "sent"|"queued")
    deliveries: list[float] = field(default_factory=list)
    depth: list[tuple[float, int]] = field(default_factory=list)  # queue pending over time
    superseded: int = 0  # queued commands a later one for the same thing replaced


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return "\n".join(
        [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(title)}'>",
            f"<title>{escape(title)}</title>",
            f"<rect width='{width}' height='{height}' fill='white'/>",
            *body,
            "</svg>",
            "",
        ]
    )


def _text(x: float, y: float, text: str, size: int = 12, anchor: str = "start") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' {FONT} font-size='{size}' "
        f"fill='{COLOURS['text']}' text-anchor='{anchor}'>{escape(text)}</text>"
    )


def timeline_svg(t: Timeline, title: str) -> str:
    width, left, right = 880, 150, 20
    plot = width - left - right
    rows = {"service": 40, "commands": 90, "queue": 150, "deliveries": 215}
    height = 280

    def x(s: float) -> float:
        return left + plot * min(max(s, 0.0), t.end_s) / t.end_s

    body = [_text(left, 20, title, 14)]
    for name, y in rows.items():
        body.append(_text(left - 10, y + 4, name, 12, "end"))
    # the service: down during the outage, up after
    body.append(
        f"<rect x='{x(0):.1f}' y='{rows['service'] - 12}' width='{x(t.outage_s) - x(0):.1f}' "
        f"height='24' fill='{COLOURS['down']}'/>"
    )
    body.append(
        f"<rect x='{x(t.outage_s):.1f}' y='{rows['service'] - 12}' "
        f"width='{x(t.end_s) - x(t.outage_s):.1f}' height='24' fill='{COLOURS['up']}'/>"
    )
    body.append(_text(x(0) + 6, rows["service"] + 4, "failing: every request answers 500", 11))
    body.append(_text(x(t.outage_s) + 6, rows["service"] + 4, "recovered", 11))
    for at, outcome in t.commands:
        colour = COLOURS["sent" if outcome == "sent" else "queued"]
        body.append(
            f"<line x1='{x(at):.1f}' x2='{x(at):.1f}' y1='{rows['commands'] - 12}' "
            f"y2='{rows['commands'] + 12}' stroke='{colour}' stroke-width='3'/>"
        )
    peak = max((n for _, n in t.depth), default=1) or 1
    base = rows["queue"] + 22
    points = " ".join(f"{x(s):.1f},{base - 40 * n / peak:.1f}" for s, n in t.depth)
    body.append(
        f"<polyline points='{points}' fill='none' stroke='{COLOURS['queue']}' stroke-width='2'/>"
    )
    body.append(_text(width - right, rows["queue"] - 22, f"pending, peak {peak}", 11, "end"))
    body.append(_text(left - 4, base + 4, "0", 9, "end"))
    for at in t.deliveries:
        body.append(
            f"<circle cx='{x(at):.1f}' cy='{rows['deliveries']}' r='4' "
            f"fill='{COLOURS['delivered']}'/>"
        )
    body.append(
        _text(
            width - right,
            rows["deliveries"] + 26,
            f"{len(t.deliveries)} delivered, each once; {t.superseded} replaced by a later "
            "command for the same thing, never sent",
            11,
            "end",
        )
    )
    for s in range(0, int(t.end_s) + 1, max(10, int(t.end_s / 10) // 10 * 10)):
        body.append(
            f"<line x1='{x(s):.1f}' x2='{x(s):.1f}' y1='28' y2='{height - 30}' "
            f"stroke='{COLOURS['grid']}' stroke-width='0.5'/>"
        )
        body.append(_text(x(s), height - 12, f"{s} s", 10, "middle"))
    legend = [("sent", "carried out at once"), ("queued", "queued")]
    lx = left
    for key, words in legend:
        body.append(
            f"<rect x='{lx}' y='{rows['commands'] + 18}' width='10' height='4' "
            f"fill='{COLOURS[key]}'/>"
        )
        body.append(_text(lx + 14, rows["commands"] + 24, words, 10))
        lx += 140
    return _svg(width, height, body, title)


def load_svg(
    series: list[tuple[str, list[float]]],
    *,
    capacity: float,
    start_label: str,
    end_label: str,
    outage: tuple[float, float],
    title: str,
) -> str:
    """Each strategy's requests per second (per bucket, as a share of capacity)."""
    width, height, left, right, top, bottom = 880, 70 + 90 * len(series), 260, 20, 30, 30
    plot_w = width - left - right
    band = (height - top - bottom) / max(1, len(series))
    body = [_text(20, 18, title, 14)]
    for i, (name, values) in enumerate(series):
        y0 = top + i * band + band - 12
        scale = (band - 24) / 4.0  # 4x capacity fills the band
        n = max(1, len(values))
        ox0 = left + plot_w * outage[0]
        ox1 = left + plot_w * outage[1]
        body.append(
            f"<rect x='{ox0:.1f}' y='{y0 - band + 16:.1f}' width='{ox1 - ox0:.1f}' "
            f"height='{band - 16:.1f}' fill='{COLOURS['down']}' opacity='0.5'/>"
        )
        cap_y = y0 - scale * 1.0
        body.append(
            f"<line x1='{left}' x2='{width - right}' y1='{cap_y:.1f}' y2='{cap_y:.1f}' "
            f"stroke='#b2182b' stroke-dasharray='4 3' stroke-width='1'/>"
        )
        points = " ".join(
            f"{left + plot_w * (j + 0.5) / n:.1f},{y0 - scale * min(v / capacity, 4.0):.1f}"
            for j, v in enumerate(values)
        )
        body.append(
            f"<polyline points='{points}' fill='none' stroke='{COLOURS['delivered']}' "
            "stroke-width='1.5'/>"
        )
        peak = max(values, default=0.0) / capacity
        body.append(_text(left - 10, y0 - band / 2 + 10, name, 11, "end"))
        body.append(_text(left - 10, y0 - band / 2 + 24, f"peak {peak:.1f}x capacity", 10, "end"))
    body.append(_text(left, height - 10, start_label, 10))
    body.append(_text(width - right, height - 10, end_label, 10, "end"))
    body.append(
        _text(
            (left + width - right) / 2,
            height - 10,
            "red band: the outage; dashed: the service's capacity; line: requests per second",
            10,
            "middle",
        )
    )
    return _svg(width, height, body, title)
