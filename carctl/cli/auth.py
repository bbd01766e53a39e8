"""`carctl auth`: sign in once, see where the session lives, sign out."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import AuthError, CarctlError, UsageError
from carctl.text import plural

PASSWORD_TRIES = 3  # a person at a terminal may mistype; a script is told at once


@click.group()
def auth() -> None:
    """Sign in, see where the session lives, sign out.

    The session is kept in the OS keyring (one entry per profile and API);
    where no keyring exists, in a 0600 file with a warning. Scripts can pass
    CARCTL_TOKEN (an access token) or CARCTL_REFRESH_TOKEN instead.
    """


def _read_stdin_line(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value.strip():
        raise UsageError(f"no {what} on stdin", hint=f"pipe the {what} in, e.g. from a file")
    return value


def _expires(app: AppContext, expires_at: float | None) -> dict[str, Any]:
    if expires_at is None:
        return {"expires_at": None, "expires_in_s": None}
    from carctl.timefmt import iso

    return {
        "expires_at": iso(expires_at),
        "expires_in_s": round(expires_at - app.clock.now()),
    }


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
    from carctl.api.connect import credentials_for, login_command
    from carctl.api.oauth import (
        SKEW_WARN_S,
        describe_skew,
        login_with_access_token,
        login_with_code,
        login_with_password,
        login_with_refresh_token,
    )
    from carctl.providers import TESLA_AUTH, TESLA_AUTH_CN

    if password_stdin and with_token:
        raise UsageError("--password-stdin and --with-token cannot be used together")
    if no_browser and not web:
        raise UsageError(
            "--no-browser goes with --web", hint="carctl auth login --web --no-browser"
        )
    if client_secret_stdin and not web:
        raise UsageError(
            "--client-secret-stdin goes with --web",
            hint="carctl auth login --web --client-secret-stdin < secret-file",
        )
    if web and (password_stdin or with_token or email):
        raise UsageError(
            "--web signs in in a browser: --email, --password-stdin and --with-token do not "
            "go with it",
            hint="choose one way to sign in",
        )
    endpoint = app.endpoint
    provider = endpoint.provider
    command = login_command(app.settings.profile)
    _check_way_in(provider, web=web, with_token=with_token)
    tesla = provider is not None and provider.auth_url in (TESLA_AUTH, TESLA_AUTH_CN)
    if web and tesla and app.settings.values["auth.client_id"].source == "default":
        raise UsageError(
            "Tesla's sign-in knows only the client id of your own registered application",
            hint="register one at developer.tesla.com (redirect URI "
            "http://127.0.0.1:8765/callback), then `carctl config set auth.client_id ID`",
        )
    secret = ""
    client_secret = None
    if web:
        if client_secret_stdin:
            client_secret = _read_stdin_line("client secret")
        code_for = _browser_sign_in(app, endpoint, no_browser=no_browser, timeout=browser_timeout)
    elif with_token:
        secret = _read_stdin_line("refresh token")
    else:
        if email is None:
            if not app.output.interactive:
                raise UsageError(
                    "no e-mail address given, and there is no terminal to ask on",
                    hint="pass --email ADDRESS with --password-stdin (or use --with-token)",
                )
            email = click.prompt("E-mail", err=True).strip()
        if not email or "@" not in email:
            raise UsageError(f"{email!r} is not an e-mail address")
        if password_stdin:
            secret = _read_stdin_line("password")
        elif app.output.interactive:
            secret = click.prompt("Password", hide_input=True, err=True)
        else:
            raise UsageError(
                "there is no terminal to ask for the password on",
                hint="pass --password-stdin and pipe the password in (or use --with-token)",
            )
    credentials = credentials_for(
        app.settings, app.paths, app.env, endpoint, warn=app.output.warn, fresh=True
    )

    if web and client_secret is None:  # the one kept from the last browser sign-in
        with contextlib.suppress(AuthError):
            kept, _ = credentials.load()
            client_secret = kept.client_secret if kept else None

    try:
        before, _ = credentials.load()  # put back if this sign-in fails part-way
    except AuthError:
        before = None

    def sign_in() -> Any:
        with app.api(credentials=credentials) as client:
            if web:
                signed = login_with_code(
                    client,
                    credentials,
                    code=code_for.code,
                    verifier=code_for.verifier,
                    redirect_uri=code_for.redirect_uri,
                    client_id=code_for.client_id,
                    login_command=command,
                    token_url=endpoint.token_url,
                    audience=provider.audience if provider else None,
                    client_secret=client_secret,
                )
            elif with_token and _sign_in(provider) == "access_token":
                signed = login_with_access_token(client, credentials, access_token=secret)
            elif with_token:
                signed = login_with_refresh_token(
                    client,
                    credentials,
                    refresh_token=secret,
                    login_command=command,
                    client_id=str(app.settings.get("auth.client_id")),
                    token_url=endpoint.token_url,
                )
            else:
                assert email is not None
                signed = login_with_password(
                    client, credentials, email=email, password=secret, login_command=command
                )
            try:
                found = _find_region(app, client, signed)
            except CarctlError:
                _undo_sign_in(credentials, before)
                raise
            if found is None:
                return signed, _cars(app, client)
        with app.api(credentials=credentials) as client:  # on the host just found
            return signed, _cars(app, client)

    asks_again = not (with_token or password_stdin or web) and app.output.interactive
    for tries_left in range(PASSWORD_TRIES - 1, -1, -1):
        try:
            result, cars = app.run(sign_in)
            break
        except AuthError as exc:
            if not (asks_again and tries_left and exc.message.startswith("wrong password")):
                raise
            app.output.warn(f"{exc.message}; {plural(tries_left, 'more try', 'more tries')}")
            secret = click.prompt("Password", hide_input=True, err=True)
    if result.location.kind == "file":
        reason = credentials.primary_note or "the keyring did not answer"
        app.output.warn(
            f"{reason}; the session is kept in {result.location.detail} (mode 600), readable "
            "by anyone who can act as your user. `carctl config set auth.require_keyring true` "
            "refuses this."
        )
    if result.skew is not None and abs(result.skew) >= SKEW_WARN_S:
        app.output.warn(
            f"this computer's clock is {describe_skew(result.skew)} the vehicle API's; "
            "carctl measures token lifetimes from when it received them, but set the clock "
            "(e.g. `timedatectl set-ntp true`) before it causes other trouble"
        )
    from carctl.cli.default_car import choose_at_sign_in

    default, default_line = choose_at_sign_in(app, cars)
    endpoint = app.endpoint  # the region found may have moved it
    data = {
        "account": result.session.account,
        "profile": app.settings.profile,
        "api": endpoint.api_url,
        **_provider_facts(endpoint),
        "store": result.location.to_json(),
        **_expires(app, result.session.expires_at),
        "vehicles": [car.to_json() for car in cars],
        "default_vehicle": default.ref() if default else None,
    }
    app.output.result(
        app.command,
        data,
        human=f"Signed in to {endpoint.label} as {result.session.account or 'an unknown account'}"
        f" (profile {app.settings.profile}).\nSession kept in {result.location.describe()}."
        + (f"\nProvider: {endpoint.provider.describe()}." if endpoint.provider else "")
        + ("\nCars: " + ", ".join(f"{c.label} ({c.state})" for c in cars) + "." if cars else "")
        + (f"\n{default_line}" if default_line else ""),
    )


def _undo_sign_in(credentials: Any, before: Any) -> None:
    """A sign-in that failed after the tokens came (no region would serve the account)
    leaves the store as it found it: the previous session, or none."""
    if before is not None:
        credentials.save(before)
    else:
        credentials.delete()


def _sign_in(provider: Any) -> str:
    """How the owner signs in to this provider (its registry entry's `sign_in`)."""
    kind = provider.kind if provider is not None else None
    return kind.sign_in if kind is not None else "password"


def _check_way_in(provider: Any, *, web: bool, with_token: bool) -> None:
    """Each provider signs in its own ways; the others are refused before anything is asked."""
    way = _sign_in(provider)
    if way == "access_token" and not with_token:
        raise UsageError(
            f"{provider.label} signs in with its own access token, not a password or a browser",
            hint=f"copy the token from {provider.label}'s console: "
            "carctl auth login --with-token < FILE",
        )
    if way == "browser" and not (web or with_token):
        raise UsageError(
            "Tesla's Fleet API has no password sign-in",
            hint="sign in with a browser: carctl auth login --web (set auth.client_id to your "
            "registered application's first)",
        )


def _find_region(app: AppContext, client: Any, signed: Any) -> Any:
    """Fleet API: which region serves the account, remembered in the profile."""
    from carctl.api.regions import discover
    from carctl.settings import set_value

    endpoint = app.endpoint
    provider = endpoint.provider
    regional = provider is not None and provider.kind is not None and provider.kind.regional
    if provider is None or not regional or not signed.session.access_token:
        return None
    found = discover(
        client,
        signed.session.access_token,
        first=provider.api_url,
        overridden=app.settings.get("provider_url") is not None,
    )
    file, profile = app.paths.config_file, app.settings.profile
    set_value(file, "region", found.name, profile=profile)
    if found.base_url != provider.api_url:
        set_value(file, "provider_url", found.base_url, profile=profile)
    app.reload_settings()
    return found


def _provider_facts(endpoint: Any) -> dict[str, Any]:
    provider = endpoint.provider
    if provider is None:
        from carctl.providers import BUILTIN

        return {"provider": BUILTIN if endpoint.origin == BUILTIN else "url"}
    return {"provider": provider.name, "region": provider.region}


@dataclass(frozen=True)
class _Authorized:
    """What a browser sign-in hands to the token exchange."""

    code: str
    verifier: str
    redirect_uri: str
    client_id: str


def _open_in_browser(url: str) -> bool:
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _browser_sign_in(
    app: AppContext, endpoint: Any, *, no_browser: bool, timeout: float
) -> _Authorized:
    """The authorization code, from the browser's trip through the sign-in page."""
    from carctl.api import browser_login

    if endpoint.origin == "builtin":
        raise UsageError(
            "the built-in vehicle API has no sign-in page a browser can open",
            hint="sign in with `carctl auth login`, or serve the mock (`carctl mock serve`) and "
            "point the profile at it",
        )
    receiver = browser_login.LoopbackReceiver(int(app.settings.get("auth.redirect_port")))
    provider = endpoint.provider
    request = browser_login.Request(
        auth_base=provider.auth_url if provider and provider.auth_url else endpoint.api_url,
        client_id=str(app.settings.get("auth.client_id")),
        redirect_uri=receiver.redirect_uri,
        scopes=str(app.settings.get("auth.scopes")),
    )
    paste = (
        (lambda: click.prompt("Address", err=True))
        if app.output.interactive
        else (lambda: _read_stdin_line("redirect address"))
    )
    code = browser_login.authorize(
        request,
        receiver,
        open_browser=None if no_browser else _open_in_browser,
        paste=paste,
        say=lambda text: click.echo(text, err=True),  # even with --quiet: the owner needs it
        timeout=timeout,
    )
    return _Authorized(code, request.verifier, request.redirect_uri, request.client_id)


def _cars(app: AppContext, client: Any) -> list[Any]:
    """The account's cars, to show and to remember (names for later, even mid-outage)."""
    from carctl.errors import CarctlError

    try:
        return app.stack.service(client).vehicles()
    except CarctlError:
        return []  # signing in worked; the list can wait


@auth.command()
@pass_app
def logout(app: AppContext) -> None:
    """Revoke the session on the server and delete it from this computer."""
    import dataclasses

    from carctl.api.connect import credentials_for
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH
    from carctl.api.oauth import REVOKE_PATH
    from carctl.api.oauth import logout as sign_out
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
    credentials = credentials_for(
        lenient, app.paths, app.env, endpoint, warn=app.output.warn, fresh=True
    )

    # A provider's own sign-in service documents no revocation endpoint: the refresh token
    # is not sent anywhere (never to the API host); the owner withdraws access on the account.
    revoke_url = None if endpoint.provider is not None else REVOKE_PATH

    def run() -> Any:
        with app.api(with_session=False) as client:
            return sign_out(client, credentials, revoke_url=revoke_url)

    result = app.run(run)
    for variable in (ENV_ACCESS, ENV_REFRESH):
        if app.env.get(variable):
            app.output.warn(f"{variable} is set in the environment; unset it as well")
    if revoke_url is None and result.was_signed_in:
        from carctl.providers import ON_TESLA_ACCOUNT

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


@auth.command()
@pass_app
def status(app: AppContext) -> None:
    """Show the account, API, where the session lives and when it expires — never the token.

    Exits 77 when not signed in, so scripts can check before they act.
    Works offline: it reads the stored session, it does not call the API.
    """
    from carctl.api.connect import credentials_for, login_command
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH, Credentials
    from carctl.api.oauth import load_session

    endpoint = app.endpoint
    credentials: Credentials | None = None
    problem: AuthError | None = None
    try:
        credentials = credentials_for(
            app.settings, app.paths, app.env, endpoint, warn=app.output.warn, fresh=True
        )
    except AuthError as exc:
        if not (app.env.get(ENV_ACCESS) or app.env.get(ENV_REFRESH)):
            raise
        problem = exc

    session, location = load_session(credentials, app.env, problem)
    base: dict[str, Any] = {
        "profile": app.settings.profile,
        "api": endpoint.api_url,
        **_provider_facts(endpoint),
    }
    if session is None:
        raise AuthError(
            f"not signed in to {endpoint.label} (profile {app.settings.profile})",
            hint=f"run `{login_command(app.settings.profile)}`",
        )
    assert location is not None
    if location.kind == "file":
        app.output.warn(
            f"the session is kept in {location.detail}, not in a keyring (none is available); "
            "anyone who can act as your user can read it"
        )
    expiry = _expires(app, session.expires_at)
    renewable = session.refresh_token is not None
    data = {
        **base,
        "signed_in": True,
        "account": session.account,
        "store": location.to_json(),
        "access_token": {**expiry, "expired": (expiry["expires_in_s"] or 1) <= 0},
        "refresh_token": renewable,
    }
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
        + ("stored; carctl renews the session by itself" if renewable else "none")
    )
    app.output.result(app.command, data, human="\n".join(lines))
