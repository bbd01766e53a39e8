"""`carctl key`: the virtual key that signs commands for cars made since 2021.

generate → show (host the public half at your domain) → pair (the Tesla app,
then the key card) → status (per car, from the Fleet API). The private key is
kept like a token and never printed.
"""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import ConfigError, UsageError

PAIR_URL = "https://tesla.com/_ak/{domain}"


def _vault(app: AppContext) -> Any:
    return app.stack.key_vault()


def _profile_flag(app: AppContext) -> str:
    from carctl.settings import DEFAULT_PROFILE

    return "" if app.settings.profile == DEFAULT_PROFILE else f" --profile {app.settings.profile}"


def _loaded(app: AppContext) -> Any:
    stored = _vault(app).load()
    if stored is None:
        raise UsageError(
            "this profile has no signing key",
            hint=f"create one: carctl{_profile_flag(app)} key generate",
        )
    return stored


def _domain(app: AppContext, *, required: bool) -> str | None:
    value = app.settings.get("key.domain")
    if value is None and required:
        raise ConfigError(
            "no domain is set for the key (the Tesla app finds the public key there)",
            hint="carctl config set key.domain example.com — your application's domain",
        )
    return None if value is None else str(value)


def well_known(domain: str) -> str:
    from carctl.api.keys import well_known_url

    return well_known_url(domain)


@click.group()
def key() -> None:
    """The key that signs commands: generate, show, pair, status.

    Cars made since 2021 execute only commands signed with a key paired to
    them. carctl signs them itself on the Fleet API: create a key, host its
    public half at your application's domain, pair it in the Tesla app.
    """


@key.command()
@click.option("--force", is_flag=True, help="Replace an existing key (it must be paired again).")
@pass_app
def generate(app: AppContext, force: bool) -> None:
    """Create the profile's key (NIST P-256), kept in the keyring or the 0600 file."""
    from carctl.api.keys import fingerprint, generate, key_id

    vault = _vault(app)
    old = vault.load()
    if old is not None and not force:
        raise UsageError(
            f"this profile already has a signing key ({fingerprint(old.key)})",
            hint="a new key must be paired with every car again: carctl key generate --force",
        )
    new = generate()
    where = app.run(lambda: vault.save(new))
    if old is not None:
        app.stack.sessions(key_id(old.key)).forget()
    domain = _domain(app, required=False)
    flag = _profile_flag(app)
    steps = [] if domain else ["set your application's domain: carctl config set key.domain DOMAIN"]
    steps += [
        f"host its public half: carctl{flag} key show > com.tesla.3p.public-key.pem, at\n"
        f"     {well_known(domain or 'DOMAIN')}",
        f"pair it with the car: carctl{flag} key pair",
    ]
    lines = [f"Created a signing key ({fingerprint(new)}), kept in {where.describe()}.", "Next:"]
    lines += [f"  {number}. {step}" for number, step in enumerate(steps, start=1)]
    data = {
        "fingerprint": fingerprint(new),
        "stored_in": where.to_json(),
        "replaced": old is not None,
    }
    app.output.result(app.command, data, human="\n".join(lines))


@key.command()
@pass_app
def show(app: AppContext) -> None:
    """Print the public key as PEM (to host at your domain) and its fingerprint."""
    from carctl.api.keys import fingerprint, public_pem

    stored = _loaded(app)
    pem = public_pem(stored.key)
    domain = _domain(app, required=False)
    data = {
        "public_key_pem": pem,
        "fingerprint": fingerprint(stored.key),
        "well_known_url": well_known(domain) if domain else None,
    }
    app.output.result(app.command, data, human=pem.rstrip("\n"))
    where = f"host it at {well_known(domain)}" if domain else "set key.domain, then host it"
    app.output.info(f"{fingerprint(stored.key)} — {where}")


@key.command()
@click.option("--vin", metavar="VIN", help="The car's VIN (otherwise the profile's car).")
@pass_app
def pair(app: AppContext, vin: str | None) -> None:
    """The link that pairs the key in the Tesla app (and a QR code on a terminal).

    Open it on the phone signed in to the owner's account, approve, then tap
    the key card on the car's console when the app asks.
    """
    from urllib.parse import quote

    _loaded(app)  # a key to pair, before anything is asked of the API
    domain = _domain(app, required=True)
    assert domain is not None
    label = None
    if vin is None:
        from carctl.cli.vehicle import selected_car, with_service

        car = with_service(app, lambda service: service.locate(selected_car(app)))
        vin, label = car.vin, car.label
    vin = vin.strip().upper()
    if len(vin) != 17 or not vin.isalnum():
        raise UsageError(f"--vin {vin!r} is not a VIN (17 letters and digits)")
    url = PAIR_URL.format(domain=domain) + f"?vin={quote(vin)}"
    lines = [
        f"Pair the key with {label or vin}: open this link on the phone with the Tesla app,",
        "approve, then tap your key card on the car's console.",
        "",
        f"  {url}",
    ]
    app.output.result(app.command, {"url": url, "vin": vin}, human="\n".join(lines))
    if not app.output.json_mode and not app.output.quiet and _terminal(app):
        app.output.print(_qr(url))
    app.output.info(f"then check: carctl{_profile_flag(app)} key status")


def _terminal(app: AppContext) -> bool:
    try:
        return bool(app.output.stdout.isatty())
    except (AttributeError, ValueError):
        return False


def _qr(url: str) -> str:
    """The link as a QR code of half-block characters, dark on light as phones expect."""
    import segno

    code = segno.make(url, error="m")
    matrix = [[bool(cell) for cell in row] for row in code.matrix]
    quiet = 2
    size = len(matrix[0]) + 2 * quiet
    rows = [[False] * size for _ in range(quiet)]
    rows += [[False] * quiet + row + [False] * quiet for row in matrix]
    rows += [[False] * size for _ in range(quiet + 1)]
    glyph = {(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}
    return "\n".join(
        "".join(glyph[(top, bottom)] for top, bottom in zip(rows[y], rows[y + 1], strict=True))
        for y in range(0, len(rows) - 1, 2)
    )


@key.command()
@pass_app
def status(app: AppContext) -> None:
    """Per car: is the key paired? (asked of the Fleet API's fleet_status)."""
    from carctl.api.keys import fingerprint
    from carctl.cli.vehicle import with_service
    from carctl.vehicle.signed import pairing_status

    stored = _loaded(app)

    def ask(service: Any) -> tuple[list[Any], dict[str, bool | None]]:
        cars = service.vehicles()
        return cars, pairing_status(service.client, [c.vin for c in cars if c.vin])

    cars, paired = with_service(app, ask)
    rows = []
    lines = [f"key {fingerprint(stored.key)}"]
    for car in cars:
        state = paired.get(car.vin)
        word = {True: "paired", False: "not paired", None: "not reported"}[state]
        needs = "signed commands only" if car.needs_signing else "takes plain commands"
        rows.append(
            {
                "vin": car.vin,
                "name": car.display_name,
                "paired": state,
                "command_signing": car.command_signing or None,
            }
        )
        lines.append(f"  {car.display_name:<12} {car.vin}  {word:<12} ({needs})")
    if any(v is False for v in paired.values()):
        lines.append(f"pair a car: carctl{_profile_flag(app)} --vehicle NAME key pair")
    app.output.result(
        app.command,
        {"fingerprint": fingerprint(stored.key), "vehicles": rows},
        human="\n".join(lines),
    )
