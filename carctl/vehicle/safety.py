"""How late a command may still be carried out: decided once, here, for every command.

A climate command delivered twenty minutes late is a warm car; an unlock
delivered twenty minutes late is an open car with nobody beside it. So each
command belongs to one class:

- **never queued**: unlock, trunk and frunk open, charge port open, honk,
  flash, sentry off. During an outage they fail at once with the diagnosis and
  never reach the queue or the worker; after a failure whose outcome is unknown
  (a timeout, a dropped connection, a 5xx) they are never sent again, because
  the car may already have done it.
- **short expiry**: lock, sentry on, charge stop — queued, but for two minutes
  by default (at most ten): a lock that comes much later is a surprise.
- **queued**: climate, temperatures, windows, schedules — as carctl always has.

The MCP server's policy tiers (issue "carctl for assistants") reuse these classes.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

SHORT_EXPIRY_S = 120.0
MAX_SHORT_EXPIRY_S = 600.0


class Safety(Enum):
    NEVER_QUEUED = "never queued"
    SHORT_EXPIRY = "short expiry"
    QUEUED = "queued"


# what the owner would find if it happened late, for the refusal's words
_LATE = {
    "door_unlock": "unlocking later could leave the car open with nobody beside it",
    "actuate_trunk": "opening a trunk later could leave it open with nobody beside it",
    "charge_port_door_open": "opening the charge port later could leave it open",
    "honk_horn": "a honk long after you asked for it helps nobody",
    "flash_lights": "flashing the lights long after you asked for it helps nobody",
    "set_sentry_mode": "turning sentry off later could leave the car unwatched",
}
_SHORT = {"door_lock", "charge_stop"}


def safety_of(name: str, params: dict[str, Any] | None = None) -> Safety:
    """The class of command `name` with `params` (sentry on is short-lived, sentry off never
    queued)."""
    params = params or {}
    if name == "set_sentry_mode":
        return Safety.SHORT_EXPIRY if params.get("on") else Safety.NEVER_QUEUED
    if name in _LATE:
        return Safety.NEVER_QUEUED
    if name in _SHORT:
        return Safety.SHORT_EXPIRY
    return Safety.QUEUED


def why_not_queued(name: str) -> str:
    """The reason a never-queued command was not kept for later, in the owner's words."""
    return _LATE.get(name, "it is not safe to carry out late")
