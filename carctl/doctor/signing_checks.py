"""Doctor's check of the signed road: what support asks first when a real car says no.

In order, each failure naming the one thing to do: a key exists; the domain is
set; the public key served at the domain's `.well-known` address is this key (an
HTTPS GET: HTML, another key or no answer is the verdict); the token's scopes
allow commands (`scp` has `vehicle_cmds`); each car that needs signing has the
key paired (the Fleet API's `fleet_status`); the region is known.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from carctl.doctor.model import FAIL, PASS, SKIP, WARN, Doctor, Finding
from carctl.errors import CarctlError

Fetch = Callable[[str], tuple[int, str, str]]  # url -> (status, content type, body)


def well_known_verdict(url: str, expected_pem: str, fetch: Fetch) -> str | None:
    """None when `url` serves this public key; otherwise what it serves instead (or why
    nothing), in a few words."""
    from cryptography.hazmat.primitives import serialization

    from carctl.api.keys import fingerprint

    try:
        status, content_type, body = fetch(url)
    except OSError as exc:
        return f"no answer ({exc})"
    if status != 200:
        return f"HTTP {status} instead of the key"
    text = body.strip()
    if "html" in content_type.lower() or text.lower().startswith(("<!doctype", "<html")):
        return "an HTML page, not a PEM public key"
    try:
        served = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        return "something that is not a PEM public key"
    expected = serialization.load_pem_public_key(expected_pem.encode())
    if served.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != expected.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        from cryptography.hazmat.primitives.asymmetric import ec

        other = fingerprint(served) if isinstance(served, ec.EllipticCurvePublicKey) else "?"
        return f"another key ({other}), not this profile's"
    return None


def token_scopes(access_token: str | None) -> list[str] | None:
    """The `scp` claim of a JWT access token; None when it states none (or is no JWT)."""
    if not access_token or access_token.count(".") != 2:
        return None
    payload = access_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    scopes = claims.get("scp") if isinstance(claims, dict) else None
    if isinstance(scopes, str):
        scopes = scopes.split()
    return [str(s) for s in scopes] if isinstance(scopes, list) else None


def applies(doc: Doctor) -> bool:
    """carctl signs for this profile's API (its registry entry says the owner's key signs)."""
    kind = doc.endpoint.kind if doc.endpoint is not None else None
    return kind is not None and kind.signing != "service"


def signing(doc: Doctor, client: Callable[[], Any]) -> Finding:
    from carctl.api.keys import fingerprint, public_pem, well_known_url
    from carctl.api.oauth import load_session
    from carctl.settings import DEFAULT_PROFILE
    from carctl.vehicle.service import choose
    from carctl.vehicle.signed import pairing_status

    assert doc.settings is not None and doc.endpoint is not None
    provider = doc.endpoint.provider
    if provider is None or not applies(doc):
        return Finding(SKIP, "this profile's API does not need carctl to sign")  # see applies
    listed = doc.fact("api", "vehicles", [])
    selector = doc.settings.get("vehicle")
    chosen = [choose(listed, str(selector))] if selector is not None and listed else listed
    cars = [car for car in chosen if car.needs_signing]
    if not cars:
        return Finding(PASS, "no car here takes only signed commands")
    profile = doc.settings.profile
    flag = "" if profile == DEFAULT_PROFILE else f" --profile {profile}"
    names = ", ".join(car.label for car in cars)
    store = doc.fact("credentials", "credentials")
    vault = doc.stack.key_vault(credentials=store)
    stored = vault.load() if store is not None else None
    if stored is None:
        return Finding(
            FAIL,
            f"{names} takes only signed commands, and this profile has no signing key",
            f"carctl{flag} key generate, then host it and pair it (carctl{flag} key pair)",
        )
    facts: dict[str, Any] = {"fingerprint": fingerprint(stored.key)}
    domain = doc.settings.get("key.domain")
    if domain is None:
        return Finding(
            FAIL,
            f"key {facts['fingerprint']}, but no domain is set for it",
            "carctl config set key.domain DOMAIN (your application's domain)",
            facts,
        )
    short = facts["fingerprint"][:25] + "…"
    session, _ = load_session(store, doc.env)
    scopes = token_scopes(session.access_token if session is not None else None)
    if scopes is not None and "vehicle_cmds" not in scopes:
        return Finding(
            FAIL,
            f"the access token's scopes ({' '.join(scopes)}) do not allow commands",
            'add vehicle_cmds: carctl config set auth.scopes "openid offline_access '
            'vehicle_device_data vehicle_cmds vehicle_location", then carctl auth login --web',
            facts,
        )
    try:
        with client() as api:
            paired = pairing_status(api, [car.vin for car in cars])
    except CarctlError as exc:
        return Finding(WARN, f"key {short}; pairing not checked: {exc.message}", "", facts)
    unpaired = [car for car in cars if paired.get(car.vin) is False]
    facts["paired"] = paired
    if unpaired:
        return Finding(
            FAIL,
            f"key {short} is not paired with {', '.join(c.label for c in unpaired)}",
            f'carctl{flag} --vehicle "{unpaired[0].display_name}" key pair, then tap the key '
            "card in the car",
            facts,
        )
    url = well_known_url(str(domain))
    from carctl.api.probe import fetch_https

    problem = well_known_verdict(url, public_pem(stored.key), fetch_https)
    if problem is not None:
        return Finding(
            FAIL,
            f"key {short} paired with {names}, but {domain} does not serve it: {problem}",
            f"serve the output of `carctl{flag} key show` at {url}",
            facts,
        )
    detail = f"key {short} paired with {names} and served at {domain}"
    if scopes is None:
        detail += "; the token does not state its scopes"
    if provider.kind is not None and provider.kind.regional and not provider.region:
        return Finding(
            WARN,
            detail + "; region not yet known",
            "sign in again (carctl auth login --web) or carctl config set region na|eu|cn",
            facts,
        )
    return Finding(PASS, detail, facts=facts)
