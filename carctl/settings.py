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
    retention = "30d"            # how long finished entries stay in `queue list --all`
    auto_worker = true           # start a background worker when something is queued

Writes are atomic (a temporary file renamed over the old one), so a crash
never leaves half a config behind.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from carctl import setting_values as read
from carctl.errors import ConfigError, UsageError
from carctl.providers import BUILTIN, PROVIDERS
from carctl.records import record
from carctl.setting_values import UserInfoInUrl, refused_secret

DEFAULT_PROFILE = "default"


@record(frozen=True)
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
            read.api_url,
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
            read.region,
            None,
            "fleet and proxy: the account's Fleet API region (na, eu, cn); found at sign-in",
        ),
        Key(
            "provider_url",
            "profile",
            None,
            read.address,
            None,
            "fleet, proxy, teslemetry: the provider's address, when not the usual one (the "
            "Fleet API's regional host is found at sign-in; the proxy's is https://localhost:4443)",
        ),
        Key(
            "auth_url",
            "profile",
            None,
            read.address,
            None,
            "fleet and proxy: the sign-in service, when not Tesla's (auth.tesla.com)",
        ),
        Key(
            "vehicle",
            "profile",
            None,
            read.vehicle,
            "CARCTL_VEHICLE",
            "default car: display name, VIN or id",
        ),
        Key("units", "profile", "metric", read.units, None, "metric or imperial"),
        Key(
            "key.domain",
            "profile",
            None,
            read.domain,
            None,
            "fleet: your application's domain, where the signing key's public half is hosted "
            "(https://DOMAIN/.well-known/appspecific/com.tesla.3p.public-key.pem)",
        ),
        Key(
            "billing",
            "profile",
            "auto",
            read.billing,
            None,
            "whether calls are billed and counted in `carctl usage`: auto (fleet, proxy and "
            "teslemetry are; the built-in mock and URLs are not), on or off",
        ),
        Key(
            "notify",
            "profile",
            "auto",
            read.notify,
            None,
            "desktop notification when a queued command is delivered or expires: "
            "auto (on a desktop), always or never",
        ),
        Key(
            "auth.require_keyring",
            "auth",
            False,
            read.boolean,
            None,
            "refuse the 0600 credentials file when no keyring is available",
        ),
        Key(
            "auth.client_id",
            "auth",
            "carctl",
            read.client_id,
            None,
            "the OAuth client id for `auth login --web` and renewals: your registered "
            "application's, for Tesla's Fleet API",
        ),
        Key(
            "auth.redirect_port",
            "auth",
            8765,
            read.port,
            None,
            "the loopback port of `auth login --web` (http://127.0.0.1:PORT/callback must be "
            "a registered redirect URI); 0 picks a free one",
        ),
        Key(
            "auth.scopes",
            "auth",
            "openid offline_access vehicle_device_data vehicle_cmds vehicle_location",
            read.scopes,
            None,
            "the scopes `auth login --web` asks for",
        ),
        Key(
            "tls.ca_file",
            "tls",
            None,
            read.ca_file,
            None,
            "a PEM certificate to trust besides the usual CAs (a signing proxy's own)",
        ),
        Key(
            "usage.monthly_limit",
            "usage",
            10.0,
            read.limit,
            None,
            "the most a month of calls to a paid vehicle API may cost, in US$ (default: "
            "Tesla's monthly discount); calls past it are refused before they are sent; off: "
            "no cap",
        ),
        Key(
            "usage.discount",
            "usage",
            10.0,
            read.dollars,
            None,
            "the provider's monthly discount in US$ (Tesla: 10)",
        ),
        Key(
            "usage.price_command",
            "usage",
            0.001,
            read.price,
            None,
            "US$ per command (Tesla: 0.001)",
        ),
        Key(
            "usage.price_data",
            "usage",
            0.002,
            read.price,
            None,
            "US$ per data request (Tesla: 0.002)",
        ),
        Key("usage.price_wake", "usage", 0.02, read.price, None, "US$ per wake (Tesla: 0.02)"),
        Key(
            "usage.price_signal",
            "usage",
            1 / 150_000,
            read.price,
            None,
            "US$ per streaming signal (Tesla: 1/150,000)",
        ),
        Key(
            "queue.ttl",
            "queue",
            "30m",
            read.ttl,
            None,
            "how long a queued command stays worth sending",
        ),
        Key(
            "queue.retention",
            "queue",
            "30d",
            read.retention,
            None,
            "how long delivered, failed and expired entries stay listed",
        ),
        Key(
            "queue.auto_worker",
            "queue",
            True,
            read.boolean,
            None,
            "start a background worker when a command is queued",
        ),
    )
}


@record(frozen=True)
class Value:
    key: str
    value: Any
    source: str  # default | file | env | option


@record(frozen=True)
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
        raise refused_secret(where, exc) from None
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
        raise refused_secret(key_name, exc) from None
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
