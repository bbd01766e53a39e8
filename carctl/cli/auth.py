"""`carctl auth`: sign in once, see where the session lives, sign out."""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.login import expires, provider_facts
from carctl.errors import AuthError


@click.group()
def auth() -> None:
    """Sign in, see where the session lives, sign out.

    The session is kept in the OS keyring (one entry per profile and API);
    where no keyring exists, in a 0600 file with a warning. Scripts can pass
    CARCTL_TOKEN (an access token) or CARCTL_REFRESH_TOKEN instead.
    """


def _in_words(seconds: float) -> str:
    seconds = abs(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


@auth.command()
@click.option("--email", metavar="ADDRESS", help="Account e-mail (asked for when omitted).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (for scripts).")
@click.option(
    "--with-token",
    is_flag=True,
    help="Read a refresh token from stdin instead of signing in with a password "
    "(with api_url teslemetry: the access token Teslemetry gave you).",
)
@click.option(
    "--web",
    is_flag=True,
    help="Sign in in a browser (OAuth with PKCE and a loopback redirect); carctl never sees "
    "the password.",
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="With --web: print the address to open elsewhere, then paste back where it ended.",
)
@click.option(
    "--client-secret-stdin",
    is_flag=True,
    help="With --web: read your application's client secret from stdin, for applications "
    "registered with one; kept in the credential store for the next sign-in.",
)
@click.option(
    "--browser-timeout",
    type=click.FloatRange(1, 3600),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="With --web: how long to wait for the browser to come back.",
)
@pass_app
def login(
    app: AppContext,
    email: str | None,
    password_stdin: bool,
    with_token: bool,
    web: bool,
    no_browser: bool,
    client_secret_stdin: bool,
    browser_timeout: float,
) -> None:
    """Sign in to the vehicle API of the active profile.

    On a terminal, carctl asks for the e-mail and (hidden) password. In
    scripts: `carctl auth login --email E --password-stdin < secret`, or
    `carctl auth login --with-token < refresh-token`. With --web, the sign-in
    happens in a browser. The built-in mock's account is owner@example.com,
    password ventilate-0600.
    """
    from carctl.cli import login as flows

    flows.check_options(
        email=email,
        password_stdin=password_stdin,
        with_token=with_token,
        web=web,
        no_browser=no_browser,
        client_secret_stdin=client_secret_stdin,
    )
    flows.check_provider(app, web=web, with_token=with_token)
    if web:
        way = flows.gather_web(
            app,
            no_browser=no_browser,
            client_secret_stdin=client_secret_stdin,
            timeout=browser_timeout,
        )
    elif with_token:
        way = flows.gather_token(app)
    else:
        way = flows.gather_password(app, email, password_stdin=password_stdin)
    result, cars, credentials = flows.sign_in(app, way)
    flows.report(app, result, cars, credentials)


@auth.command()
@pass_app
def logout(app: AppContext) -> None:
    """Revoke the session on the server and delete it from this computer."""
    import dataclasses

    from carctl.api.oauth import REVOKE_PATH
    from carctl.api.signin import logout as sign_out
    from carctl.settings import Value

    endpoint = app.endpoint
    # signing out removes every stored copy, also the file a stricter setting would refuse
    lenient = dataclasses.replace(
        app.settings,
        values={
            **app.settings.values,
            "auth.require_keyring": Value("auth.require_keyring", False, "logout"),
        },
    )
    credentials = app.stack.for_settings(lenient).credential_stores(fresh=True)

    # A provider's own sign-in service documents no revocation endpoint: the refresh token
    # is not sent anywhere (never to the API host); the owner withdraws access on the account.
    revoke_url = None if endpoint.provider is not None else REVOKE_PATH

    def run() -> Any:
        with app.api(with_session=False) as client:
            return sign_out(client, credentials, revoke_url=revoke_url)

    result = app.run(run)
    _logout_warnings(app, result, revoked_here=revoke_url is not None)
    data = {
        "was_signed_in": result.was_signed_in,
        "revoked": result.revoked,
        "removed_from": [location.to_json() for location in result.removed],
        "profile": app.settings.profile,
        "api": endpoint.api_url,
    }
    if not result.was_signed_in:
        human = (
            f"Not signed in to {endpoint.label} (profile {app.settings.profile}); nothing to do."
        )
    else:
        where = ", ".join(location.describe() for location in result.removed) or "nowhere"
        revoked = "revoked on the server and " if result.revoked else ""
        human = f"Signed out of {endpoint.label}: session {revoked}deleted from {where}."
    app.output.result(app.command, data, human=human)


def _logout_warnings(app: AppContext, result: Any, *, revoked_here: bool) -> None:
    """What signing out here could not do: a session in the environment, one only the
    account can withdraw, a revocation the server did not take."""
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH
    from carctl.providers import ON_TESLA_ACCOUNT

    endpoint = app.endpoint
    for variable in (ENV_ACCESS, ENV_REFRESH):
        if app.env.get(variable):
            app.output.warn(f"{variable} is set in the environment; unset it as well")
    if not revoked_here and result.was_signed_in:
        kind = endpoint.kind
        where = kind.revoke_where if kind is not None else ON_TESLA_ACCOUNT
        app.output.warn(
            f"{endpoint.label} offers carctl no way to revoke the session; it was deleted "
            f"here — withdraw carctl's access {where}"
        )
    if result.revoke_error:
        app.output.warn(
            f"could not revoke the session on the server ({result.revoke_error}); it was "
            "deleted here and the server will let it expire"
        )


@auth.command()
@pass_app
def status(app: AppContext) -> None:
    """Show the account, API, where the session lives and when it expires — never the token.

    Exits 77 when not signed in, so scripts can check before they act.
    Works offline: it reads the stored session, it does not call the API.
    """
    endpoint = app.endpoint
    session, location = _stored_session(app)
    if location.kind == "file":
        app.output.warn(
            f"the session is kept in {location.detail}, not in a keyring (none is available); "
            "anyone who can act as your user can read it"
        )
    expiry = expires(app, session.expires_at)
    renewable = session.refresh_token is not None
    data = {
        "profile": app.settings.profile,
        "api": endpoint.api_url,
        **provider_facts(endpoint),
        "signed_in": True,
        "account": session.account,
        "store": location.to_json(),
        "access_token": {**expiry, "expired": (expiry["expires_in_s"] or 1) <= 0},
        "refresh_token": renewable,
    }
    app.output.result(
        app.command, data, human="\n".join(_status_lines(app, session, location, expiry))
    )


def _stored_session(app: AppContext) -> tuple[Any, Any]:
    """The session kept for this profile and where; `AuthError` (77) when there is none."""
    from carctl.api.connect import login_command
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH
    from carctl.api.oauth import load_session

    credentials = None
    problem: AuthError | None = None
    try:
        credentials = app.stack.credential_stores(fresh=True)
    except AuthError as exc:
        if not (app.env.get(ENV_ACCESS) or app.env.get(ENV_REFRESH)):
            raise
        problem = exc
    session, location = load_session(credentials, app.env, problem)
    if session is None:
        raise AuthError(
            f"not signed in to {app.endpoint.label} (profile {app.settings.profile})",
            hint=f"run `{login_command(app.settings.profile)}`",
        )
    assert location is not None
    return session, location


def _status_lines(
    app: AppContext, session: Any, location: Any, expiry: dict[str, Any]
) -> list[str]:
    endpoint = app.endpoint
    lines = [
        f"Signed in to {endpoint.label} as {session.account or 'an unknown account'} "
        f"(profile {app.settings.profile}).",
        f"  session kept in  {location.describe()}",
    ]
    if endpoint.provider is not None:
        lines.append(f"  provider         {endpoint.provider.describe()}")
    if session.expires_at is None:
        lines.append("  access token     not yet issued (renewed on first use)")
    else:
        left = session.expires_at - app.clock.now()
        state = f"expires in {_in_words(left)}" if left > 0 else f"expired {_in_words(left)} ago"
        lines.append(f"  access token     {state} ({expiry['expires_at']})")
    lines.append(
        "  refresh token    "
        + ("stored; carctl renews the session by itself" if _renewable(session) else "none")
    )
    return lines


def _renewable(session: Any) -> bool:
    return session.refresh_token is not None
