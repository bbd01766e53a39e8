"""`carctl config`: where the files are, and the settings of the active profile."""

from __future__ import annotations

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import UsageError
from carctl.text import literal


@click.group()
def config() -> None:
    """Show and change settings (config.toml).

    Settings belong to the active profile (--profile or CARCTL_PROFILE,
    "default" otherwise); CARCTL_API_URL and CARCTL_VEHICLE override them.
    """


@config.command()
@pass_app
def path(app: AppContext) -> None:
    """Print where carctl keeps its config, state and log."""
    data = app.paths.as_dict()
    app.output.result(app.command, data, human="\n".join(f"{k:<7} {v}" for k, v in data.items()))


@config.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """Show every setting with its value and where it comes from."""
    import dataclasses

    from carctl.errors import ConfigError
    from carctl.settings import KEYS, load_settings

    problem = None
    try:
        settings = app.settings
    except ConfigError as exc:  # a broken file: show what is known without it, and why
        problem = exc.message
        app.output.warn(f"{exc.message}; its settings are left out below until it is fixed")
        env = {k: v for k, v in app.env.items() if k != "CARCTL_PROFILE"}
        without_file = load_settings(app.paths.config_dir / ".no-such-file", env=env)
        settings = dataclasses.replace(without_file, file=app.paths.config_file)
    data = {
        "profile": settings.profile,
        "file": str(settings.file),
        "problem": problem,
        "settings": {
            k: {"value": v.value, "source": v.source, "help": KEYS[k].help}
            for k, v in settings.values.items()
        },
    }
    lines = [f"profile {settings.profile} ({settings.file})"]
    lines += [f"{k:<22} {_shown(v.value):<28} ({v.source})" for k, v in settings.values.items()]
    app.output.result(app.command, data, human="\n".join(lines))


@config.command()
@click.argument("key")
@pass_app
def get(app: AppContext, key: str) -> None:
    """Print one setting's effective value."""
    _known(key)
    value = app.settings.values[key]
    app.output.result(
        app.command,
        {"key": key, "value": value.value, "source": value.source},
        human="" if value.value is None else _shown(value.value),
    )


@config.command("set")
@click.argument("key")
@click.argument("value")
@pass_app
def set_(app: AppContext, key: str, value: str) -> None:
    """Change one setting of the active profile, e.g. carctl config set api_url http://127.0.0.1:8787."""
    from carctl.settings import set_value

    profile = _profile(app)
    if key == "vehicle" and value.strip():
        from carctl.cli.default_car import check_name

        value, warning = check_name(app, value)
        if warning:
            app.output.warn(warning)
    stored = set_value(app.paths.config_file, key, value, profile=profile)
    app.output.result(
        app.command,
        {"key": key, "value": stored, "profile": profile},
        human=f"{key} = {stored} (profile {profile})",
    )


@config.command()
@click.argument("key")
@pass_app
def unset(app: AppContext, key: str) -> None:
    """Remove one setting from the config file, so its default applies again."""
    from carctl.settings import KEYS, unset_value

    _known(key)
    profile = _profile(app)
    removed = unset_value(app.paths.config_file, key, profile=profile)
    default = KEYS[key].default
    human = (
        f"{key} removed (profile {profile}); its default applies: {default}"
        if removed
        else f"{key} was not set (profile {profile}); nothing to do"
    )
    app.output.result(
        app.command, {"key": key, "removed": removed, "profile": profile}, human=human
    )


def _known(key: str) -> None:
    from carctl.settings import KEYS

    if key not in KEYS:
        raise UsageError(f"unknown setting {key!r}", hint=f"settings: {', '.join(KEYS)}")


def _profile(app: AppContext) -> str:
    """The profile a change is written to: the one this run uses."""
    from carctl.settings import DEFAULT_PROFILE

    return app.profile or app.env.get("CARCTL_PROFILE") or DEFAULT_PROFILE


def _shown(value: object) -> str:
    """A value as config.toml writes it (true, false, numbers, text), "–" when unset."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    return literal(str(value))
