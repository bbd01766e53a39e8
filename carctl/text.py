"""Strings from outside carctl, made safe to show on a terminal.

A car's name, an API's error text, a config value or a file name can carry
escape sequences: a screen clear, a colour, an OSC 52 write to the clipboard,
a cursor move that hides the rest of a line. Everything carctl prints for a
person passes through `literal`, which shows each control character as an
escape (`\\x1b`, `\\n`) instead of sending it to the terminal. Markup is never
parsed from such strings either (the console is created with markup off).
"""

from __future__ import annotations

import re

# C0 controls (tab included), DEL, C1 controls, and the bidirectional overrides
# that reorder what a line appears to say.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(found: re.Match[str]) -> str:
    char = found.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def literal(text: str) -> str:
    """`text` with every control character shown as an escape."""
    return _CONTROL.sub(_escape, text)


def literal_lines(text: str) -> str:
    """Like `literal`, keeping the line breaks carctl itself put between lines."""
    return "\n".join(literal(line) for line in text.split("\n"))


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 failure", "2 failures", "1 car", "0 cars": a count with its word agreeing."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
