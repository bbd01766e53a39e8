"""Settings: profiles in `config.toml`, environment overrides, global options.

Precedence, highest first: a global option (`--profile`, `--vehicle`), an
environment variable (`CARCTL_PROFILE`, `CARCTL_API_URL`, `CARCTL_VEHICLE`),
the profile's table in the config file, then the built-in defaults. The file:

    [profiles.default]
    api_url = "builtin"          # the in-process mock; fleet, proxy, teslemetry; or a URL
    vehicle = "Model 3"          # display name, VIN or id
    units = "metric"             # or "imperial"
    notify = "auto"              # desktop notification of queued outcomes: always, never

    [auth]
    require_keyring = false      # true: refuse the 0600 file fallback

    [queue]
    ttl = "30m"                  # how long a queued command stays worth sending
    auto_worker = true           # start a background worker when something is queued

Writes are atomic (a temporary file renamed over the old one), so a crash
never leaves half a config behind.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carctl.errors import ConfigError, UsageError
from carctl.providers import BUILTIN, PROVIDERS, expected_api

DEFAULT_PROFILE = "default"


def _api_url(value: Any) -> str:
    text = str(value).strip()
    if text.lower() in PROVIDERS:
        return text.lower()
    return _url(text, expected_api())


def _url(text: str, expected: str) -> str:
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


def _address(value: Any) -> str:
    return _url(str(value).strip(), "expected an http(s):// URL such as https://localhost:4443")


def _region(value: Any) -> str:
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


def _refused_secret(where: str, exc: UserInfoInUrl) -> UsageError:
    return UsageError(
        f"{where}: {exc} (got {exc.shown})",
        hint="remove the part before @ and sign in with `carctl auth login`",
    )


def _units(value: Any) -> str:
    if value not in ("metric", "imperial"):
        raise ValueError('expected "metric" or "imperial"')
    return str(value)


def _notify(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("auto", "always", "never"):
        raise ValueError("expected auto, always or never")
    return text


def _vehicle(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a car's name, VIN or id")
    return value.strip()


def _ttl(value: Any) -> str:
    """A duration such as 30m or 1h (stored as written); at most 24 hours."""
    from carctl.durations import parse_duration

    try:
        parse_duration(str(value), option="queue.ttl")
    except UsageError as exc:
        raise ValueError("expected a duration such as 30m, 1h or 90s, at most 24h") from exc
    return str(value).strip()


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError("expected true or false")


def _ca_file(value: Any) -> str:
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    return str(path.resolve())


def _client_id(value: Any) -> str:
    text = str(value).strip()
    if not text or any(c.isspace() for c in text) or len(text) > 200:
        raise ValueError("expected your application's client id, one word")
    return text


def _port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError("expected a port number from 1024 to 65535 (or 0: any free one)") from None
    if port != 0 and not 1024 <= port <= 65535:
        raise ValueError("expected a port number from 1024 to 65535 (or 0: any free one)")
    return port


def _scopes(value: Any) -> str:
    words = str(value).replace(",", " ").split()
    if not words or "offline_access" not in words:
        raise ValueError(
            "expected scopes separated by spaces, including offline_access (renewal needs it)"
        )
    return " ".join(words)


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _domain(value: Any) -> str:
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


def _dollars(value: Any) -> float:
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


def _limit(value: Any) -> float | str:
    """A monthly cap in US$, or `off`."""
    if str(value).strip().lower() in ("off", "none", "no"):
        return "off"
    try:
        return _dollars(value)
    except ValueError:
        raise ValueError(
            "expected a monthly cap in US$ such as 10 or 2.50, not negative, or off"
        ) from None


def _price(value: Any) -> float:
    """US$ per call, such as 0.001."""
    try:
        return _dollars(value)
    except ValueError:
        raise ValueError("expected a price in US$ per call such as 0.001, not negative") from None


def _billing(value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        text = "on"
    if text in ("false", "no", "0"):
        text = "off"
    if text not in ("auto", "on", "off"):
        raise ValueError("expected auto (fleet, proxy and teslemetry are billed), on or off")
    return text


@dataclass(frozen=True)
class Key:
    name: str
    section: str  # "profile" for per-profile keys, else the table name
    default: Any
    check: Callable[[Any], Any]
    env: str | None = None
    help: str = ""


KEYS = {
    key.name: key
    for key in (
        Key(
            "api_url",
            "profile",
            BUILTIN,
            _api_url,
            "CARCTL_API_URL",
            "vehicle API: "
            + ", ".join(
                f'"{kind.name}" ({kind.about})' if kind.about else f'"{kind.name}"'
                for kind in PROVIDERS.values()
            )
            + ", or an http(s) URL",
        ),
        Key(
            "region",
            "profile",
            None,
            _region,
            None,
            "fleet and proxy: the account's Fleet API region (na, eu, cn); found at sign-in",
        ),
        Key(
            "provider_url",
            "profile",
            None,
            _address,
            None,
            "fleet, proxy, teslemetry: the provider's address, when not the usual one (the "
            "Fleet API's regional host is found at sign-in; the proxy's is https://localhost:4443)",
        ),
        Key(
            "auth_url",
            "profile",
            None,
            _address,
            None,
            "fleet and proxy: the sign-in service, when not Tesla's (auth.tesla.com)",
        ),
        Key(
            "vehicle",
            "profile",
            None,
            _vehicle,
            "CARCTL_VEHICLE",
            "default car: display name, VIN or id",
        ),
        Key("units", "profile", "metric", _units, None, "metric or imperial"),
        Key(
            "key.domain",
            "profile",
            None,
            _domain,
            None,
            "fleet: your application's domain, where the signing key's public half is hosted "
            "(https://DOMAIN/.well-known/appspecific/com.tesla.3p.public-key.pem)",
        ),
        Key(
            "billing",
            "profile",
            "auto",
            _billing,
            None,
            "whether calls are billed and counted in `carctl usage`: auto (fleet, proxy and "
            "teslemetry are; the built-in mock and URLs are not), on or off",
        ),
        Key(
            "notify",
            "profile",
            "auto",
            _notify,
            None,
            "desktop notification when a queued command is delivered or expires: "
            "auto (on a desktop), always or never",
        ),
        Key(
            "auth.require_keyring",
            "auth",
            False,
            _boolean,
            None,
            "refuse the 0600 credentials file when no keyring is available",
        ),
        Key(
            "auth.client_id",
            "auth",
            "carctl",
            _client_id,
            None,
            "the OAuth client id for `auth login --web` and renewals: your registered "
            "application's, for Tesla's Fleet API",
        ),
        Key(
            "auth.redirect_port",
            "auth",
            8765,
            _port,
            None,
            "the loopback port of `auth login --web` (http://127.0.0.1:PORT/callback must be "
            "a registered redirect URI); 0 picks a free one",
        ),
        Key(
            "auth.scopes",
            "auth",
            "openid offline_access vehicle_device_data vehicle_cmds vehicle_location",
            _scopes,
            None,
            "the scopes `auth login --web` asks for",
        ),
        Key(
            "tls.ca_file",
            "tls",
            None,
            _ca_file,
            None,
            "a PEM certificate to trust besides the usual CAs (a signing proxy's own)",
        ),
        Key(
            "usage.monthly_limit",
            "usage",
            10.0,
            _limit,
            None,
            "the most a month of calls to a paid vehicle API may cost, in US$ (default: "
            "Tesla's monthly discount); calls past it are refused before they are sent; off: "
            "no cap",
        ),
        Key(
            "usage.discount",
            "usage",
            10.0,
            _dollars,
            None,
            "the provider's monthly discount in US$ (Tesla: 10)",
        ),
        Key("usage.price_command", "usage", 0.001, _price, None, "US$ per command (Tesla: 0.001)"),
        Key(
            "usage.price_data",
            "usage",
            0.002,
            _price,
            None,
            "US$ per data request (Tesla: 0.002)",
        ),
        Key("usage.price_wake", "usage", 0.02, _price, None, "US$ per wake (Tesla: 0.02)"),
        Key(
            "usage.price_signal",
            "usage",
            1 / 150_000,
            _price,
            None,
            "US$ per streaming signal (Tesla: 1/150,000)",
        ),
        Key(
            "queue.ttl",
            "queue",
            "30m",
            _ttl,
            None,
            "how long a queued command stays worth sending",
        ),
        Key(
            "queue.auto_worker",
            "queue",
            True,
            _boolean,
            None,
            "start a background worker when a command is queued",
        ),
    )
}


@dataclass(frozen=True)
class Value:
    key: str
    value: Any
    source: str  # default | file | env | option


@dataclass(frozen=True)
class Settings:
    profile: str
    values: dict[str, Value]
    file: Path

    def get(self, key: str) -> Any:
        return self.values[key].value

    @property
    def api_url(self) -> str:
        return str(self.get("api_url"))


def read_file(path: Path) -> dict[str, Any]:
    """The parsed config file; {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise ConfigError(
            f"{path} is a directory, not a config file", hint=f"move it aside: mv {path} {path}.bak"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f", line {found.group(1)}" if found else ""
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(
            f"{path}{where}: {reason}",
            hint="fix the line in an editor; `carctl config path` shows where the file is "
            "and `carctl config list` which keys there are",
        ) from None


def _lookup(data: Mapping[str, Any], key: Key, profile: str) -> Any:
    if key.section == "profile":
        table = data.get("profiles", {}).get(profile, {})
        return table.get(key.name) if isinstance(table, dict) else None
    table = data.get(key.section, {})
    leaf = key.name.split(".", 1)[1]
    return table.get(leaf) if isinstance(table, dict) else None


def load_settings(
    path: Path, *, env: Mapping[str, str], profile: str | None = None, vehicle: str | None = None
) -> Settings:
    data = read_file(path)
    chosen = profile or env.get("CARCTL_PROFILE") or DEFAULT_PROFILE
    profiles = data.get("profiles", {})
    if chosen != DEFAULT_PROFILE and chosen not in (profiles if isinstance(profiles, dict) else {}):
        known = (
            ", ".join(sorted({DEFAULT_PROFILE, *profiles})) if isinstance(profiles, dict) else ""
        )
        raise ConfigError(
            f"no profile {chosen!r} in {path}",
            hint=f"known profiles: {known}; create one with "
            f"`carctl --profile {chosen} config set api_url URL`",
        )
    values = {}
    for key in KEYS.values():
        value, source = key.default, "default"
        raw = _lookup(data, key, chosen)
        if raw is not None:
            value, source = _checked(key, raw, f"{path}: {key.name}"), "file"
        if key.env and env.get(key.env):
            value, source = _checked(key, env[key.env], key.env), "env"
        if key.name == "vehicle" and vehicle:
            value, source = _checked(key, vehicle, "--vehicle"), "option"
        values[key.name] = Value(key.name, value, source)
    return Settings(profile=chosen, values=values, file=path)


def _checked(key: Key, raw: Any, where: str) -> Any:
    try:
        return key.check(raw)
    except UserInfoInUrl as exc:
        raise _refused_secret(where, exc) from None
    except ValueError as exc:
        raise ConfigError(
            f"{where}: {exc}, got {raw!r}", hint=f"set it with `carctl config set {key.name} VALUE`"
        ) from None


def set_value(path: Path, key_name: str, raw: str, *, profile: str) -> Any:
    """Validate and write one key atomically; return the stored value."""
    key = KEYS.get(key_name)
    if key is None:
        raise UsageError(f"unknown setting {key_name!r}", hint=f"settings: {', '.join(KEYS)}")
    try:
        value = key.check(raw)
    except UserInfoInUrl as exc:
        raise _refused_secret(key_name, exc) from None
    except ValueError as exc:
        raise UsageError(f"{key_name}: {exc}, got {raw!r}") from None
    read_file(path)  # a file carctl cannot read is said so, before anything is written
    document = _document(path)
    _table(document, key, profile, create=True)[_leaf(key)] = value
    _write_document(path, document)
    return value


def unset_value(path: Path, key_name: str, *, profile: str) -> bool:
    """Remove one key from the file (atomically); False when it was not there."""
    key = KEYS[key_name]
    read_file(path)
    document = _document(path)
    table = _table(document, key, profile, create=False)
    if table is None or _leaf(key) not in table:
        return False
    del table[_leaf(key)]
    _write_document(path, document)
    return True


# -- writing: a round trip that keeps the owner's comments, arrays, dates and order ----------


def _document(path: Path) -> Any:
    import tomlkit

    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except OSError:
        text = ""
    return tomlkit.parse(text)


def _leaf(key: Key) -> str:
    return key.name if key.section == "profile" else key.name.split(".", 1)[1]


def _table(document: Any, key: Key, profile: str, *, create: bool) -> Any:
    """The table that holds `key` (`[profiles.NAME]` or `[auth]`…), made when asked."""
    import tomlkit

    path = ["profiles", profile] if key.section == "profile" else [key.section]
    current = document
    for index, name in enumerate(path):
        found = current.get(name)
        if found is None:
            if not create:
                return None
            found = tomlkit.table(is_super_table=index < len(path) - 1)
            current[name] = found
        current = found
    return current


def _write_document(path: Path, document: Any) -> None:
    import tomlkit

    from carctl.files import write_private

    write_private(path, tomlkit.dumps(document))
