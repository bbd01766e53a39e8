"""`carctl auth login`, flow by flow: the way in is chosen and checked, what it needs is
gathered (a password, a token, a browser's trip), exchanged for a session, and reported.

Each flow is a small function; `auth.login` only strings them together.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click

from carctl.cli.context import AppContext
from carctl.errors import AuthError, CarctlError, UsageError
from carctl.records import record
from carctl.text import plural

PASSWORD_TRIES = 3  # a person at a terminal may mistype; a script is told at once


@record
class WayIn:
    """How this sign-in goes, and what it has gathered so far."""

    kind: str  # "web", "token" or "password"
    email: str | None = None
    secret: str = ""  # the password, or the token
    client_secret: str | None = None  # web: the registered application's, when it has one
    authorized: _Authorized | None = None  # web: what the browser brought back

    @property
    def asks_again(self) -> bool:
        """A person typing a password may mistype; anything piped in is told at once."""
        return self.kind == "password" and self.secret_typed

    secret_typed: bool = False


def check_options(
    *,
    email: str | None,
    password_stdin: bool,
    with_token: bool,
    web: bool,
    no_browser: bool,
    client_secret_stdin: bool,
) -> None:
    """Options that do not go together, said before anything is asked."""
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


def check_provider(app: AppContext, *, web: bool, with_token: bool) -> None:
    """Each provider signs in its own ways; the others are refused before anything is asked."""
    from carctl.providers import TESLA_AUTH, TESLA_AUTH_CN

    provider = app.endpoint.provider
    _check_way_in(provider, web=web, with_token=with_token)
    tesla = provider is not None and provider.auth_url in (TESLA_AUTH, TESLA_AUTH_CN)
    if web and tesla and app.settings.values["auth.client_id"].source == "default":
        raise UsageError(
            "Tesla's sign-in knows only the client id of your own registered application",
            hint="register one at developer.tesla.com (redirect URI "
            "http://127.0.0.1:8765/callback), then `carctl config set auth.client_id ID`",
        )


def gather_web(
    app: AppContext, *, no_browser: bool, client_secret_stdin: bool, timeout: float
) -> WayIn:
    """The browser's trip through the sign-in page (carctl never sees the password)."""
    client_secret = _read_stdin_line(app, "client secret") if client_secret_stdin else None
    authorized = _browser_sign_in(app, app.endpoint, no_browser=no_browser, timeout=timeout)
    return WayIn("web", client_secret=client_secret, authorized=authorized)


def gather_token(app: AppContext) -> WayIn:
    return WayIn("token", secret=_read_stdin_line(app, "refresh token"))


def gather_password(app: AppContext, email: str | None, *, password_stdin: bool) -> WayIn:
    """The e-mail and the password: piped in, or asked for on a terminal (hidden)."""
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
        return WayIn("password", email=email, secret=_read_stdin_line(app, "password"))
    if not app.output.interactive:
        raise UsageError(
            "there is no terminal to ask for the password on",
            hint="pass --password-stdin and pipe the password in (or use --with-token)",
        )
    secret = click.prompt("Password", hide_input=True, err=True)
    return WayIn("password", email=email, secret=secret, secret_typed=True)


def sign_in(app: AppContext, way: WayIn) -> tuple[Any, list[Any], Any]:
    """Exchange what was gathered for a session (asking again after a mistyped password);
    the session, the account's cars, and the stores it is kept in."""
    credentials = app.stack.credential_stores(fresh=True)
    if way.kind == "web" and way.client_secret is None:  # the one kept from the last time
        with contextlib.suppress(AuthError):
            kept, _ = credentials.load()
            way.client_secret = kept.client_secret if kept else None
    try:
        before, _ = credentials.load()  # put back if this sign-in fails part-way
    except AuthError:
        before = None
    for tries_left in range(PASSWORD_TRIES - 1, -1, -1):
        try:
            signed, cars = app.run(lambda: _exchange(app, way, credentials, before))
            return signed, cars, credentials
        except AuthError as exc:
            if not (way.asks_again and tries_left and exc.message.startswith("wrong password")):
                raise
            app.output.warn(f"{exc.message}; {plural(tries_left, 'more try', 'more tries')}")
            way.secret = click.prompt("Password", hide_input=True, err=True)
    raise AssertionError("unreachable: the last try returns or raises")


def _exchange(app: AppContext, way: WayIn, credentials: Any, before: Any) -> tuple[Any, list[Any]]:
    with app.api(credentials=credentials) as client:
        signed = _session_for(app, way, client, credentials)
        try:
            found = _find_region(app, client, signed)
        except CarctlError:
            _undo_sign_in(credentials, before)
            raise
        if found is None:
            return signed, _cars(app, client)
    with app.api(credentials=credentials) as client:  # on the host just found
        return signed, _cars(app, client)


def _session_for(app: AppContext, way: WayIn, client: Any, credentials: Any) -> Any:
    """The token exchange of this way in."""
    from carctl.api.connect import login_command
    from carctl.api.signin import (
        login_with_access_token,
        login_with_code,
        login_with_password,
        login_with_refresh_token,
    )

    endpoint = app.endpoint
    provider = endpoint.provider
    command = login_command(app.settings.profile)
    if way.kind == "web":
        assert way.authorized is not None
        return login_with_code(
            client,
            credentials,
            code=way.authorized.code,
            verifier=way.authorized.verifier,
            redirect_uri=way.authorized.redirect_uri,
            client_id=way.authorized.client_id,
            login_command=command,
            token_url=endpoint.token_url,
            audience=provider.audience if provider else None,
            client_secret=way.client_secret,
        )
    if way.kind == "token" and _sign_in(provider) == "access_token":
        return login_with_access_token(client, credentials, access_token=way.secret)
    if way.kind == "token":
        return login_with_refresh_token(
            client,
            credentials,
            refresh_token=way.secret,
            login_command=command,
            client_id=str(app.settings.get("auth.client_id")),
            token_url=endpoint.token_url,
        )
    assert way.email is not None
    return login_with_password(
        client, credentials, email=way.email, password=way.secret, login_command=command
    )


def report(app: AppContext, result: Any, cars: list[Any], credentials: Any) -> None:
    """Where the session is kept, a clock far off, the default car, and what was done."""
    from carctl.api.oauth import SKEW_WARN_S, describe_skew
    from carctl.cli.default_car import choose_at_sign_in

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
    default, default_line = choose_at_sign_in(app, cars)
    endpoint = app.endpoint  # the region found may have moved it
    data = {
        "account": result.session.account,
        "profile": app.settings.profile,
        "api": endpoint.api_url,
        **provider_facts(endpoint),
        "store": result.location.to_json(),
        **expires(app, result.session.expires_at),
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


def _read_stdin_line(app: AppContext, what: str) -> str:
    value = app.environment.stdin.readline().rstrip("\r\n")
    if not value.strip():
        raise UsageError(f"no {what} on stdin", hint=f"pipe the {what} in, e.g. from a file")
    return value


def expires(app: AppContext, expires_at: float | None) -> dict[str, Any]:
    if expires_at is None:
        return {"expires_at": None, "expires_in_s": None}
    from carctl.timefmt import iso

    return {
        "expires_at": iso(expires_at),
        "expires_in_s": round(expires_at - app.clock.now()),
    }


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


def provider_facts(endpoint: Any) -> dict[str, Any]:
    provider = endpoint.provider
    if provider is None:
        from carctl.providers import BUILTIN

        return {"provider": BUILTIN if endpoint.origin == BUILTIN else "url"}
    return {"provider": provider.name, "region": provider.region}


@record(frozen=True)
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
        else (lambda: _read_stdin_line(app, "redirect address"))
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
