"""What `carctl mcp` offers an assistant: each tool, the carctl command it runs, and the
permission it needs.

A tool is a carctl command run in this process with `--json`: the same checks,
messages, retries, queue, ledger, log and exit codes as when the owner types
it. Its permission is not a second list: it follows from the vehicle commands
the tool may send and the vehicle layer's own classes (`carctl.vehicle.safety`)
— nothing sent: `read`; queued or short-lived: `commands`; never queued
(unlock, trunks, charge port, honk, flash, sentry off): `unlock`, which also
asks the person, through the assistant, before anything is sent. The car's
position is `location`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from carctl.records import record
from carctl.vehicle.safety import Safety, safety_of

READ, COMMANDS, UNLOCK, LOCATION = "read", "commands", "unlock", "location"
TIERS = (READ, COMMANDS, UNLOCK, LOCATION)
COST = (
    "On a paid vehicle API (Tesla's Fleet API) each request is billed: "
    "about $0.002 a data request, $0.001 a command, $0.02 a wake; free on the built-in mock."
)
Argv = Callable[[Mapping[str, Any]], list[str]]


@record
class Tool:
    name: str
    description: str
    argv: Argv  # the carctl words for these arguments (after `--json` and the car)
    params: dict[str, Any]  # JSON schema properties of the arguments
    required: tuple[str, ...] = ()
    # the vehicle commands the call may send, with their parameters: its permission
    sends: Callable[[Mapping[str, Any]], list[tuple[str, dict[str, Any]]]] = lambda _: []
    location: bool = False
    changes_queue: bool = False  # sends nothing itself, but changes what carctl will send

    def tier(self, arguments: Mapping[str, Any]) -> str:
        """The permission these arguments need, from what the call would send."""
        if self.location:
            return LOCATION
        classes = {safety_of(name, params) for name, params in self.sends(arguments)}
        if Safety.NEVER_QUEUED in classes:
            return UNLOCK
        return COMMANDS if classes or self.changes_queue or arguments.get("wake") else READ

    def tiers(self) -> set[str]:
        """The permissions its calls need, one per kind of call (what decides the listing)."""
        probes: list[dict[str, Any]] = [{}, {"on": True}, {"on": False}, {"close": True}]
        return {self.tier(p) for p in probes}


CAR = {"car": {"type": "string", "description": "The car by name, VIN or id (with several)."}}
WAKE = {"wake": {"type": "boolean", "description": "Wake a sleeping car first (costs a wake)."}}
TEMP = {
    "temp": {
        "type": "number",
        "minimum": 15,
        "maximum": 28,
        "description": "Cabin temperature in °C, 15 to 28.",
    }
}


def _wake(arguments: Mapping[str, Any]) -> list[str]:
    return ["--wake"] if arguments.get("wake") else []


def _temp(arguments: Mapping[str, Any]) -> list[str]:
    temp = arguments.get("temp")
    return [] if temp is None else ["--temp", str(temp)]


def _climate(arguments: Mapping[str, Any]) -> list[str]:
    if arguments.get("on", True):
        return ["climate", "on", *_temp(arguments)]
    return ["climate", "off"]


def _climate_sends(arguments: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if not arguments.get("on", True):
        return [("auto_conditioning_stop", {})]
    return [("set_temps", {}), ("auto_conditioning_start", {})]


def _sentry(arguments: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("set_sentry_mode", {"on": bool(arguments.get("on", True))})]


TOOLS: tuple[Tool, ...] = (
    Tool(
        "list_cars",
        "The cars on the account: name, VIN, online or asleep. Never wakes a car. " + COST,
        lambda a: ["vehicles"],
        {},
    ),
    Tool(
        "status",
        "What the car reports: state, cabin and outside °C, climate, windows, battery, "
        "locks. From what it reported last unless `wake` is true (a wake needs the "
        "`commands` permission). " + COST,
        lambda a: ["status", *_wake(a)],
        {**CAR, **WAKE},
    ),
    Tool(
        "charge_state",
        "Battery %, range in km, charge limit, whether plugged in and charging. " + COST,
        lambda a: ["charge", *_wake(a), "state"],
        {**CAR, **WAKE},
    ),
    Tool(
        "schedules",
        "The schedules the car keeps itself (it warms at the time even when the API is down).",
        lambda a: ["schedule"],
        CAR,
    ),
    Tool(
        "queue",
        "Commands carctl keeps to deliver when the vehicle API recovers: id, command, "
        "state, deadline.",
        lambda a: ["queue"],
        {},
    ),
    Tool(
        "queue_wait",
        "Wait until queued commands are delivered or expire (all pending, or `ids`), for "
        "at most `timeout_s` seconds; the answer says what became of each.",
        lambda a: [
            "queue",
            "wait",
            *([str(i) for i in a["ids"]] if a.get("ids") else ["--all"]),
            "--timeout",
            f"{int(a.get('timeout_s', 120))}s",
        ],
        {
            "ids": {"type": "array", "items": {"type": "integer"}, "description": "Ids."},
            "timeout_s": {
                "type": "integer",
                "minimum": 1,
                "maximum": 900,
                "description": "Seconds to wait at most (default 120).",
            },
        },
    ),
    Tool(
        "usage",
        "This month's calls to a paid vehicle API, their estimated cost and the cap.",
        lambda a: ["usage"],
        {},
    ),
    Tool(
        "where",
        "Where the car is (latitude, longitude) and how old that fix is.",
        lambda a: ["where", *_wake(a)],
        {**CAR, **WAKE},
        location=True,
    ),
    Tool(
        "precondition",
        "The morning routine: climate on (at `temp` °C), optionally vented windows, now; "
        "or, with `at` (HH:MM, the car's time), armed on the car to be ready then. "
        "`if_below`: only when the car reads an outside °C below it. Queued on an outage. " + COST,
        lambda a: [
            "precondition",
            *_temp(a),
            *(["--vent"] if a.get("vent") else []),
            *(["--at", a["at"]] if "at" in a else []),
            *(["--if-below", str(a["if_below"])] if "if_below" in a else []),
        ],
        {
            **CAR,
            **TEMP,
            "vent": {"type": "boolean", "description": "Also vent the windows (not with at)."},
            "at": {"type": "string", "description": "Ready at HH:MM on the car's clock."},
            "if_below": {
                "type": "number",
                "minimum": -40,
                "maximum": 40,
                "description": "Only when it is colder than this outside (°C).",
            },
        },
        sends=lambda a: [("set_temps", {}), ("auto_conditioning_start", {})],
    ),
    Tool(
        "schedule_set",
        "Arm a schedule the car keeps itself: the cabin ready at `time` (HH:MM, the car's "
        "time) on `days` (weekdays, weekends, all, or mon,wed,fri). It runs even when the "
        "vehicle API is down. " + COST,
        lambda a: [
            "schedule",
            "set",
            a["time"],
            *(["--days", a["days"]] if "days" in a else []),
            *_temp(a),
        ],
        {
            **CAR,
            "time": {"type": "string", "description": "Ready at HH:MM on the car's clock."},
            "days": {"type": "string", "description": "weekdays, weekends, all, or mon,wed."},
            **TEMP,
        },
        required=("time",),
        sends=lambda a: [("add_precondition_schedule", {})],
    ),
    Tool(
        "schedule_off",
        "Remove one of the car's schedules by its id (from `schedules`). " + COST,
        lambda a: ["schedule", "off", str(a["id"])],
        {**CAR, "id": {"type": "integer", "minimum": 0, "description": "The schedule's id."}},
        required=("id",),
        sends=lambda a: [("remove_precondition_schedule", {})],
    ),
    Tool(
        "charge",
        "Start or stop charging (`on`), or set the charge limit (`limit`, 50 to 100 %). " + COST,
        lambda a: (
            ["charge", "limit", str(a["limit"])]
            if "limit" in a
            else ["charge", "start" if a.get("on", True) else "stop"]
        ),
        {
            **CAR,
            "on": {"type": "boolean", "description": "true: start (the default); false: stop."},
            "limit": {"type": "integer", "minimum": 50, "maximum": 100, "description": "%"},
        },
        sends=lambda a: [("charge_start", {})],
    ),
    Tool(
        "doctor",
        "carctl's own diagnosis: setup, network, the vehicle API, the car; each check "
        "with what it blames.",
        lambda a: ["doctor"],
        {},
    ),
    Tool(
        "climate",
        "Turn the climate on (optionally at `temp` °C) or off. Wakes the car if needed. "
        "When the vehicle API fails, the command is queued and delivered once it "
        "recovers (the result says `queued`, why, and until when). " + COST,
        _climate,
        {
            **CAR,
            "on": {"type": "boolean", "description": "true: on (the default); false: off."},
            **TEMP,
        },
        sends=_climate_sends,
    ),
    Tool(
        "vent",
        "Vent the windows a little, or close them (`close`: true). Queued on an outage. " + COST,
        lambda a: ["vent", *(["--close"] if a.get("close") else [])],
        {**CAR, "close": {"type": "boolean", "description": "Close instead of vent."}},
        sends=lambda a: [("window_control", {})],
    ),
    Tool(
        "lock",
        "Lock the car. Queued for two minutes at most on an outage. " + COST,
        lambda a: ["lock"],
        CAR,
        sends=lambda a: [("door_lock", {})],
    ),
    Tool(
        "sentry",
        "Sentry mode on (queued for two minutes at most) or off (never queued; needs the "
        "`unlock` permission and the person's confirmation). " + COST,
        lambda a: ["sentry", "on" if a.get("on", True) else "off"],
        {**CAR, "on": {"type": "boolean", "description": "true: on (the default)."}},
        sends=_sentry,
    ),
    Tool(
        "cancel_queued",
        "Cancel a command waiting in carctl's queue, by its id (from `queue`).",
        lambda a: ["queue", "cancel", str(a["id"])],
        {"id": {"type": "integer", "minimum": 1, "description": "The queued command's id."}},
        required=("id",),
        changes_queue=True,
    ),
    Tool(
        "unlock",
        "Unlock the car. Never queued: if the API fails, nothing is sent later. Asks the "
        "person first. " + COST,
        lambda a: ["unlock", "--yes"],
        CAR,
        sends=lambda a: [("door_unlock", {})],
    ),
    Tool(
        "honk",
        "Honk the horn once. Never queued; asks the person first. " + COST,
        lambda a: ["honk"],
        CAR,
        sends=lambda a: [("honk_horn", {})],
    ),
    Tool(
        "flash",
        "Flash the lights once. Never queued; asks the person first. " + COST,
        lambda a: ["flash"],
        CAR,
        sends=lambda a: [("flash_lights", {})],
    ),
)


def allowed(tool: Tool, allow: set[str]) -> bool:
    """Listed when some call of it is within the policy."""
    return bool(tool.tiers() & (allow | {READ}))


def refusal(tool: Tool, arguments: Mapping[str, Any], allow: set[str]) -> str | None:
    """Why the policy refuses this call (naming the flag), or None."""
    needed = tool.tier(arguments)
    if needed == READ or needed in allow:
        return None
    return (
        f"{tool.name} needs the {needed!r} permission, which this server was not given: "
        f"start it with `carctl mcp --allow {needed}`"
    )
