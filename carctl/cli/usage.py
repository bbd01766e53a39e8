"""`carctl usage`: what this month's calls to a paid vehicle API cost, and the cap.

Counts come from carctl's own ledger (every call it sent, by Tesla's billing
category); the cost is an estimate at the prices in the settings — Tesla's
invoice is the word that counts.
"""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import UsageError

NAMES = {
    "data": "data requests",
    "command": "commands",
    "wake": "wakes",
    "signal": "streaming signals",
}


@click.command()
@click.option("--month", metavar="YYYY-MM", help="A past month, such as 2026-11 (UTC).")
@pass_app
def usage(app: AppContext, month: str | None) -> None:
    """The month's calls to a paid vehicle API: cost and cap.

    Counted by Tesla's billing categories from carctl's own ledger; the cost is an
    estimate at the prices in the settings (`carctl config list`)."""
    from carctl.api import usage as rules

    if month is not None:
        try:
            month = rules.parse_month(month)
        except ValueError as exc:
            raise UsageError(f"--month {month!r}: {exc}") from None
    meter = app.stack.meter()
    if meter is None:
        label = app.endpoint.label
        data: dict[str, Any] = {"billed": False, "provider": app.endpoint.setting}
        app.output.result(
            app.command,
            data,
            human=f"Calls to {label} are not billed, so carctl does not count them.\n"
            "(Tesla's Fleet API, the signing proxy and Teslemetry are; "
            "`carctl config set billing on` counts a URL's calls too.)",
        )
        return
    summary = meter.month(month)
    data = {"billed": True, "provider": app.endpoint.setting, **summary.to_json()}
    app.output.result(app.command, data, human=_text(app, summary))


def _usd(value: float) -> str:
    """US$0.254 for small sums (a call costs a tenth of a cent), US$12.40 for larger."""
    return f"US${value:.3f}" if value < 1 else f"US${value:.2f}"


def _text(app: AppContext, month: Any) -> str:
    prices = month.prices
    lines = [f"{app.endpoint.label}, {month.month} (UTC), profile {app.settings.profile}"]
    for line in month.categories:
        if line.category == "signal" and not line.calls:
            continue  # carctl does not stream
        unbilled = line.calls - line.billed
        note = f" (+{unbilled} not billed: 5xx or no answer)" if unbilled else ""
        lines.append(f"  {NAMES[line.category]:<15} {line.billed:>6}  {_usd(line.cost):>10}{note}")
    if prices.limit is None:
        cap = " (no cap)"
    elif prices.limit == 0:
        cap = " of your US$0 cap: nothing may be sent"
    else:
        cap = f" of your {_usd(prices.limit)} cap ({month.cost / prices.limit:.0%})"
    lines.append(f"  {'total':<15} {'':>6}  {_usd(month.cost):>10}{cap}")
    due = "nothing due" if month.due == 0 else f"{_usd(month.due)} due"
    lines.append(f"  after Tesla's monthly discount of {_usd(prices.discount)}: {due}")
    if month.projected is not None:
        lines.append(f"  at this rate the month comes to {_usd(month.projected)}")
    if month.names:
        top = ", ".join(f"{n.name} {_usd(n.cost)} ({n.billed})" for n in month.names[:3])
        lines.append(f"  costliest: {top}")
    return "\n".join(lines)
