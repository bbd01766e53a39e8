"""click's side of dynamic completion: car names, profiles, queue IDs, doctor checks.

What is offered from carctl's state is read by `carctl.completions` (which also
answers most Tabs before click is imported); this wraps it for click, for the
Tabs the fast path leaves to click.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem

from carctl import completions


def _items(offers: list[completions.Offer]) -> list[CompletionItem]:
    return [CompletionItem(value, help=help_) for value, help_ in offers]


def _profile(ctx: click.Context) -> str:
    root = ctx.find_root()
    return str(root.params.get("profile") or os.environ.get("CARCTL_PROFILE") or "default")


def profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return _items(completions.profiles(os.environ, incomplete))


def vehicles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Names from the vehicle cache of the active profile (any API it has used)."""
    return _items(completions.vehicles(os.environ, _profile(ctx), incomplete))


def queue_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Pending entries (for `cancel`); every recent one for `show`."""
    pending_only = ctx.info_name == "cancel"
    return _items(completions.queue_ids(os.environ, incomplete, pending_only=pending_only))


def doctor_checks(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from carctl.doctor.checks import REGISTRY

    return [CompletionItem(name) for name in REGISTRY.ids() if name.startswith(incomplete)]


DAY_WORDS = ("weekdays", "weekends", "all", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule_days(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """`--days`: a word, or days one after another (`mon,wed,`)."""
    head, comma, last = incomplete.rpartition(",")
    prefix = head + comma
    words = DAY_WORDS[3:] if comma else DAY_WORDS
    return [CompletionItem(prefix + word) for word in words if word.startswith(last.lower())]


def schedule_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The schedules the cars held when carctl last read them (`carctl schedule`)."""
    return _items(completions.schedule_ids(os.environ, _profile(ctx), incomplete))
