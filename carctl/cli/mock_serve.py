"""`carctl mock serve`: the mock vehicle API over HTTP, in the flavour of the API it
imitates (the Owner API, the Fleet API, the signing proxy), with its faults."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import ConfigError, UsageError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Seed file (TOML or JSON) with accounts, cars and settings.",
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="NAME|FILE",
    help="Named fault scenario (see `carctl mock scenarios`) or a scenario file.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="RULE",
    help='Fault rule, e.g. "status=500 path=/api/1/* for=60s". Repeatable.',
)
@click.option("--admin", is_flag=True, help="Serve the control API under /__mock__/.")
@click.option(
    "--signing-proxy-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Also stand in for Tesla's signing proxy on PORT (0 picks a free one): commands "
    "sent there count as signed, for cars that require signed commands.",
)
@click.option(
    "--flavor",
    type=click.Choice(["owner", "fleet", "proxy"]),
    default="owner",
    show_default=True,
    help="Which API to imitate: the Owner API; Tesla's Fleet API (regions, VINs, browser "
    "sign-in only, unsigned commands refused by cars that need signing); or Tesla's signing "
    "proxy in front of it (HTTPS with a throw-away certificate, commands signed).",
)
@click.option(
    "--region",
    type=click.Choice(["na", "eu", "cn"]),
    help="With --flavor fleet or proxy: the Fleet API region the account belongs to (default na).",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Serve HTTPS with this certificate (PEM), as Tesla's signing proxy does; with --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The private key (PEM) of --tls-cert.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn's log level (info logs each request).",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    seed_path: str | None,
    scenarios: tuple[str, ...],
    faults: tuple[str, ...],
    admin: bool,
    signing_proxy_port: int | None,
    flavor: str,
    region: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    log_level: str,
) -> None:
    """Serve the mock vehicle API over HTTP (loopback by default).

    Fault windows (after=, for=) count from the moment the server starts.
    Stop it with Ctrl-C.
    """
    from carctl.api.builtin import fault_rules
    from carctl.mock.faults import rule_from_mapping
    from carctl.mock.server import make_server, url_of

    region = _serve_options(flavor, region, tls_cert, tls_key)
    seed = _serve_seed(seed_path)
    rules = [rule_from_mapping(rule) for rule in fault_rules(faults, scenarios)]
    throwaway, tls_cert, tls_key = _certificate(flavor, host, tls_cert, tls_key)
    sock, proxy = _sockets(host, port, signing_proxy_port)
    url = url_of(sock, https=bool(tls_cert))
    proxy_url = url_of(proxy, https=bool(tls_cert)) if proxy is not None else None
    _warn_exposed(app, host, admin)
    asgi = _mock_app(seed, rules, admin=admin, flavor=flavor, region=region, proxy=proxy)
    lines = _flavor_lines(flavor, region, url, tls_cert if throwaway else None)
    streams = _streams(url, flavor)
    lines.append("  streams: " + ", ".join(f"{where} ({what})" for what, where in streams.items()))
    app.output.result(
        app.command,
        {
            "url": url,
            "admin": admin,
            "seed": seed.source,
            "faults": [rule.to_words() for rule in rules],
            "signing_proxy": proxy_url,
            "flavor": flavor,
            "region": region if flavor != "owner" else None,
            "certificate": str(Path(tls_cert).resolve()) if tls_cert else None,
            "streams": streams,
        },
        human=_serving_text(url, admin, seed.source, rules, proxy_url, lines),
    )
    server = make_server(asgi, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops gracefully, then passes
            server.run(sockets=[sock] if proxy is None else [sock, proxy])
    finally:
        if throwaway is not None:
            throwaway.cleanup()
    app.output.info("carctl mock: stopped.")  # Ctrl-C is how a server is meant to end: exit 0


def _serve_options(
    flavor: str, region: str | None, tls_cert: str | None, tls_key: str | None
) -> str:
    """Options that do not go together, said before anything is bound; the region."""
    if region is not None and flavor == "owner":
        raise UsageError(
            "--region goes with --flavor fleet or proxy (the Owner API has no regions)",
            hint=f"carctl mock serve --flavor fleet --region {region}",
        )
    if bool(tls_cert) != bool(tls_key):
        raise UsageError(
            "--tls-cert and --tls-key go together", hint="give both, or neither for plain HTTP"
        )
    for option, file in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if file and not Path(file).is_file():
            raise UsageError(f"{option} {file}: no such file", hint="give a PEM file")
    return region or "na"


def _mock_app(
    seed: Any, rules: list[Any], *, admin: bool, flavor: str, region: str, proxy: Any
) -> Any:
    """The mock's application, its faults installed, answering on the proxy's port too."""
    import asyncio

    from carctl.mock.app import create_app, install_faults

    asgi = create_app(seed=seed, admin=admin, flavor=flavor, region=region)
    if proxy is not None:
        asgi.state.api.signing_ports.add(proxy.getsockname()[1])
    asyncio.run(install_faults(asgi, rules))
    return asgi


def _certificate(
    flavor: str, host: str, tls_cert: str | None, tls_key: str | None
) -> tuple[Any, str | None, str | None]:
    """The proxy flavour serves HTTPS as the real proxy does: a throw-away certificate when
    none is given (its directory, removed when the server stops)."""
    import tempfile

    from carctl.mock.certs import self_signed

    if flavor != "proxy" or tls_cert:
        return None, tls_cert, tls_key
    throwaway = tempfile.TemporaryDirectory(prefix="carctl-proxy-")
    files = self_signed(Path(throwaway.name), host=host)
    return throwaway, str(files.cert), str(files.key)


def _serve_seed(seed_path: str | None) -> Any:
    from carctl.mock.seed import SeedError, load_seed

    try:
        return load_seed(seed_path)
    except SeedError as exc:
        raise ConfigError(
            str(exc), hint="fix the seed file, or leave out --seed for the default"
        ) from None


def _sockets(host: str, port: int, signing_proxy_port: int | None) -> tuple[Any, Any]:
    """The server's socket, and the signing proxy stand-in's (None without one)."""
    from carctl.mock.server import ServeError, bind

    try:
        sock = bind(host, port)
        proxy = None if signing_proxy_port is None else bind(host, signing_proxy_port)
    except ServeError as exc:
        raise ConfigError(str(exc)) from None
    return sock, proxy


def _warn_exposed(app: AppContext, host: str, admin: bool) -> None:
    if host not in ("127.0.0.1", "localhost", "::1"):
        app.output.warn(
            f"serving on {host}: anyone who can reach it can sign in with the seed's "
            "well-known password, over plain HTTP"
            + (
                ", and drive the control API (--admin): faults, the clock, the cars"
                if admin
                else ""
            )
        )


def _streams(url: str, flavor: str) -> dict[str, str]:
    """Where the websockets are: the Owner API's streaming (its flavour only), Fleet
    Telemetry's records of a configured car."""
    ws = "wss" + url[5:] if url.startswith("https") else "ws" + url[4:]
    found = {"fleet_telemetry": f"{ws}/fleet_telemetry/VIN"}
    return {"streaming": f"{ws}/streaming/", **found} if flavor == "owner" else found


def _flavor_lines(flavor: str, region: str, url: str, throwaway: str | None) -> list[str]:
    if flavor == "owner":
        return []
    lines = [
        f"  flavor: {flavor}, the account in region {region}; to use it:",
        f"    carctl config set api_url {flavor}",
        f"    carctl config set provider_url {url}",
        f"    carctl config set auth_url {url}",
    ]
    if throwaway:
        lines += [
            f"  certificate (throw-away): {throwaway}",
            f"    carctl config set tls.ca_file {throwaway}",
        ]
    return [*lines, "    carctl auth login --web"]


def _serving_text(
    url: str,
    admin: bool,
    seed: str,
    rules: list[Any],
    proxy_url: str | None = None,
    extra: list[str] | None = None,
) -> str:
    lines = [
        f"carctl mock: serving the mock vehicle API on {url}",
        f"  seed: {seed}; sign in as owner@example.com / ventilate-0600",
        f"  control API: {url}/__mock__/" if admin else "  control API: off (--admin to enable)",
    ]
    if proxy_url:
        lines.append(f"  signing proxy stand-in: {proxy_url} (commands sent there count as signed)")
    lines += [f"  fault: {rule.to_words()}" for rule in rules]
    lines += extra or []
    lines.append("  Ctrl-C to stop")
    return "\n".join(lines)
