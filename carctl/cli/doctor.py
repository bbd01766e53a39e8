"""`carctl doctor`: a verdict for support, and a report that is safe to share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from carctl.cli.complete import doctor_checks
from carctl.cli.context import AppContext, pass_app
from carctl.errors import UsageError

if TYPE_CHECKING:
    from carctl.plain import Surface

MARKS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "–"}
PLAIN = {"pass": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
COLOURS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@click.command()
@click.argument("only", nargs=-1, metavar="[CHECK]...", shell_complete=doctor_checks)
@click.option("--offline", is_flag=True, help="Skip the checks that use the network.")
@click.option("--list", "list_", is_flag=True, help="List the checks and exit.")
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write a redacted zip for support.",
)
@pass_app
def doctor(
    app: AppContext, only: tuple[str, ...], offline: bool, list_: bool, bundle: Path | None
) -> None:
    """Find out what is wrong: setup, network, service or car.

    Checks setup, network, the vehicle service and the car, and says which one
    is at fault.

    Exits 0 when no check failed, 1 otherwise. Never wakes the car and never
    sends it a command.
    """
    from carctl.doctor.checks import REGISTRY

    if list_:
        rows = [{"id": c.id, "title": c.title, "network": c.network} for c in REGISTRY]
        app.output.result(
            app.command, rows, human="\n".join(f"{c.id:<12} {c.title}" for c in REGISTRY)
        )
        return
    unknown = [name for name in only if name not in REGISTRY.ids()]
    if unknown:
        raise UsageError(
            f"no check named {unknown[0]!r}",
            hint=f"checks: {', '.join(REGISTRY.ids())} (see --list)",
        )
    if bundle is not None:
        from carctl.doctor.bundle import check_target

        check_target(bundle)  # before the checks run: a wrong place is said at once
    report, doc = app.run(lambda: _diagnose(app, list(only) or None, offline))
    failed = any(check["status"] == "fail" for check in report["checks"])
    if bundle is not None:
        names = _bundle(app, doc, report, bundle)
        report["bundle"] = {"file": str(bundle), "contents": names}
    app.output.result(
        app.command, report, human=lambda console: _draw(app, console, report), ok=not failed
    )
    if failed:
        raise click.exceptions.Exit(1)


def _diagnose(app: AppContext, only: list[str] | None, offline: bool) -> Any:
    from carctl.doctor.model import Doctor
    from carctl.doctor.run import run_checks, summary, verdict

    doc = Doctor(stack=app.stack, offline=offline)
    results = run_checks(doc, only)
    found = verdict(doc)
    report = {
        "verdict": found.verdict,
        "evidence": found.evidence,
        "checks": [r.to_json() for r in results],
        "summary": summary(results),
    }
    return report, doc


def _bundle(app: AppContext, doc: Any, report: dict[str, Any], target: Path) -> list[str]:
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH
    from carctl.doctor.bundle import write_bundle

    settings = None
    if doc.settings is not None:
        settings = {
            "profile": doc.settings.profile,
            "values": {
                k: {"value": v.value, "source": v.source} for k, v in doc.settings.values.items()
            },
        }
    secrets = [app.env.get(ENV_ACCESS, ""), app.env.get(ENV_REFRESH, "")]
    store = doc.fact("credentials", "credentials")
    if store is not None:
        try:
            session, _ = store.load()
        except Exception:
            session = None
        if session is not None:
            secrets += [session.access_token or "", session.refresh_token or ""]
    return write_bundle(target, report=report, settings=settings, stack=app.stack, secrets=secrets)


def _draw(app: AppContext, console: Surface, report: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    color = app.output.color
    if color:  # one row a check; its remedy under its detail, where the eye already is
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1, 0, 0))
        table.add_column(width=1)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold", ratio=1)
        for check in report["checks"]:
            status = check["status"]
            detail = Text(check["detail"])
            if check["remediation"] and status in ("warn", "fail"):
                detail.append(f"\n→ {check['remediation']}", style=COLOURS[status])
            mark = Text(MARKS[status], style=COLOURS[status])
            table.add_row(mark, Text(check["title"], style="bold"), detail)
        console.print(table)
    else:  # pipes and support e-mails: one line per check, its remedy under it
        for check in report["checks"]:
            console.print(
                f"{PLAIN[check['status']]:<5} {check['title']}: {check['detail']}", markup=False
            )
            if check["remediation"] and check["status"] in ("warn", "fail"):
                console.print(f"      → {check['remediation']}", markup=False)
    counts = report["summary"]
    console.print(
        f"{counts['pass']} passed, {counts['warn']} warning{'s' if counts['warn'] != 1 else ''}, "
        f"{counts['fail']} failed, {counts['skip']} skipped.",
        markup=False,
    )
    verdict = Text(f"Verdict: {report['verdict']}", style="bold" if color else "")
    verdict.append(f" — {report['evidence']}", style="")
    console.print(verdict)
    if "bundle" in report:
        bundle = report["bundle"]
        console.print(
            f"Wrote {bundle['file']}: {', '.join(bundle['contents'])}. It holds no token, "
            "password or full e-mail address, and positions are rounded to about 1 km.",
            markup=False,
        )
