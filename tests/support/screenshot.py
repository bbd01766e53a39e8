"""Terminal screens as SVG pictures for docs/, and the text back out of them.

A screen captured in a pseudo-terminal (colours and all) is drawn by rich's
`export_svg`, the way a terminal shows it. `svg_text` reads the lines back, so
a test can check that a committed picture still shows what the golden screen
says — cheaply, without running carctl again.
"""

from __future__ import annotations

import html
import io
import re

WIDTH = 80


def shown_lines(raw: str) -> list[str]:
    """The lines a person finally sees (ANSI kept): erased spinner lines and redrawn
    line starts removed."""
    erased = re.sub(r"[^\n]*\r\n(?:\x1b\[\?25h)?\r?\x1b\[1A\x1b\[2K", "", raw)
    erased = re.sub(r"\x1b\[\?25[hl]", "", erased)
    lines = [line.rsplit("\r", 1)[-1] for line in erased.replace("\r\n", "\n").split("\n")]
    while lines and not re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", lines[-1]).strip():
        lines.pop()
    return lines


def terminal_svg(raw: str, title: str) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(
        record=True,
        width=WIDTH,
        force_terminal=True,
        color_system="truecolor",
        file=io.StringIO(),
    )
    for line in shown_lines(raw):
        console.print(Text.from_ansi(line), overflow="ignore", crop=False)
    svg = console.export_svg(title=title)
    # rich names its styles after a hash of the content; a fixed name keeps diffs small
    unique = re.search(r"terminal-(\d+)-", svg)
    return svg.replace(f"terminal-{unique.group(1)}-", "terminal-carctl-") if unique else svg


def svg_text(svg: str) -> str:
    """The screen's text, line by line, from a picture `terminal_svg` drew."""
    lines: dict[float, list[tuple[float, str]]] = {}
    pattern = (
        r'<text class="terminal-[\w-]+-r\d+" x="([\d.]+)" y="([\d.]+)" '
        r'textLength="([\d.]+)"[^>]*>(.*?)</text>'
    )
    found = re.findall(pattern, svg, flags=re.DOTALL)
    # a character's width, from any segment: whitespace-only segments are not drawn, so
    # each segment is placed at its own column
    cell = next(
        float(length) / len(html.unescape(text))
        for _, _, length, text in found
        if text.strip() and "\n" not in text
    )
    for x, y, _, content in found:
        lines.setdefault(float(y), []).append((float(x), html.unescape(content)))
    out = []
    for y in sorted(lines):
        row = ""
        for x, part in sorted(lines[y]):
            column = round(x / cell)
            row = row.ljust(column) + part.replace("\xa0", " ").replace("\n", "")
        out.append(row.rstrip())
    return "\n".join(out).strip("\n") + "\n"
