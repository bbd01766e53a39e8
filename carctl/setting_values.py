"""How each setting's value is read and checked: one small parser per kind of value
(a URL or a provider's name, a region, a duration, a price), raising `ValueError` with
what was expected; `carctl.settings` says which key uses which."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carctl.errors import UsageError
from carctl.providers import PROVIDERS, expected_api


def api_url(value: Any) -> str:
    text = str(value).strip()
    if text.lower() in PROVIDERS:
        return text.lower()
    return url(text, expected_api())


def url(text: str, expected: str) -> str:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(expected) from None
    if "@" in parts.netloc:
        raise UserInfoInUrl(f"{parts.scheme}://***@{parts.netloc.rsplit('@', 1)[1]}{parts.path}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(expected)
    return text.rstrip("/")


def address(value: Any) -> str:
    return url(str(value).strip(), "expected an http(s):// URL such as https://localhost:4443")


def region(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("na", "eu", "cn"):
        raise ValueError(
            "expected na (North America, Asia-Pacific), eu (Europe, Middle East, Africa) or cn"
        )
    return text


class UserInfoInUrl(ValueError):
    """A user name or password in an API URL: refused, and never repeated back."""

    def __init__(self, shown: str) -> None:
        super().__init__(
            "a user name or password in the API URL is not allowed: carctl keeps secrets "
            "only in the credential store, and sends them only to sign in"
        )
        self.shown = shown


def refused_secret(where: str, exc: UserInfoInUrl) -> UsageError:
    return UsageError(
        f"{where}: {exc} (got {exc.shown})",
        hint="remove the part before @ and sign in with `carctl auth login`",
    )


def units(value: Any) -> str:
    if value not in ("metric", "imperial"):
        raise ValueError('expected "metric" or "imperial"')
    return str(value)


def notify(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("auto", "always", "never"):
        raise ValueError("expected auto, always or never")
    return text


def vehicle(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a car's name, VIN or id")
    return value.strip()


def ttl(value: Any) -> str:
    """A duration such as 30m or 1h (stored as written); at most 24 hours."""
    from carctl.durations import parse_duration

    try:
        parse_duration(str(value), option="queue.ttl")
    except UsageError as exc:
        raise ValueError("expected a duration such as 30m, 1h or 90s, at most 24h") from exc
    return str(value).strip()


def retention(value: Any) -> str:
    """A duration such as 30d or 12h (stored as written): how long finished entries are kept."""
    from carctl.durations import DAY_S, parse_duration

    try:
        seconds = parse_duration(str(value), option="queue.retention", most=3650 * DAY_S)
    except UsageError as exc:
        raise ValueError("expected a duration such as 30d, 90d or 12h, at most 3650d") from exc
    if seconds < 3600:
        raise ValueError("expected a duration of at least 1h, such as 30d")
    return str(value).strip()


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError("expected true or false")


def ca_file(value: Any) -> str:
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return str(path.resolve())


def client_id(value: Any) -> str:
    text = str(value).strip()
    if not text or any(c.isspace() for c in text) or len(text) > 200:
        raise ValueError("expected your application's client id, one word")
    return text


def port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError("expected a port number from 1024 to 65535 (or 0: any free one)") from None
    if port != 0 and not 1024 <= port <= 65535:
        raise ValueError("expected a port number from 1024 to 65535 (or 0: any free one)")
    return port


def scopes(value: Any) -> str:
    words = str(value).replace(",", " ").split()
    if not words or "offline_access" not in words:
        raise ValueError(
            "expected scopes separated by spaces, including offline_access (renewal needs it)"
        )
    return " ".join(words)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def domain(value: Any) -> str:
    """A host name such as example.com: where the public key is hosted, and the pairing
    link's name for the application (tesla.com/_ak/DOMAIN)."""
    text = str(value).strip().lower().rstrip(".")
    if "://" in text or "/" in text:
        raise ValueError("expected a host name such as example.com, without https:// or a path")
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise ValueError("expected a host name such as example.com")
    if labels[-1].isdigit():
        raise ValueError("expected a host name such as example.com, not an IP address")
    return text


def dollars(value: Any) -> float:
    """An amount in US$, such as 10 or 2.50."""
    if isinstance(value, bool):
        raise ValueError("expected an amount in US$ such as 10 or 2.50")
    try:
        amount = float(str(value).strip().lstrip("$"))
    except ValueError:
        raise ValueError("expected an amount in US$ such as 10 or 2.50") from None
    if amount != amount or amount in (float("inf"), float("-inf")) or amount < 0:
        raise ValueError("expected an amount in US$ such as 10 or 2.50, not negative")
    return amount


def limit(value: Any) -> float | str:
    """A monthly cap in US$, or `off`."""
    if str(value).strip().lower() in ("off", "none", "no"):
        return "off"
    try:
        return dollars(value)
    except ValueError:
        raise ValueError(
            "expected a monthly cap in US$ such as 10 or 2.50, not negative, or off"
        ) from None


def price(value: Any) -> float:
    """US$ per call, such as 0.001."""
    try:
        return dollars(value)
    except ValueError:
        raise ValueError("expected a price in US$ per call such as 0.001, not negative") from None


def billing(value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        text = "on"
    if text in ("false", "no", "0"):
        text = "off"
    if text not in ("auto", "on", "off"):
        raise ValueError("expected auto (fleet, proxy and teslemetry are billed), on or off")
    return text
