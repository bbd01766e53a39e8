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
from dataclasses import field
from typing import Any

from carctl.doctor.model import FAIL, PASS, SKIP, WARN, Doctor, Finding
from carctl.errors import CarctlError
from carctl.records import record

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
    """The signed road, stage by stage: the first that fails is the finding."""
    assert doc.settings is not None and doc.endpoint is not None
    if doc.endpoint.provider is None or not applies(doc):
        return Finding(SKIP, "this profile's API does not need carctl to sign")  # see applies
    road = _Road.of(doc)
    if not road.cars:
        return Finding(PASS, "no car here takes only signed commands")
    for stage in (road.key, road.domain, road.scopes, lambda: road.pairing(client), road.served):
        found = stage()
        if found is not None:
            return found
    return road.verdict()


@record
class _Road:
    """What the signing check has learned so far, for the next stage."""

    doc: Doctor
    cars: list[Any]
    flag: str  # " --profile NAME" for a profile other than the default
    store: Any  # the credential store the credentials check found
    facts: dict[str, Any] = field(default_factory=dict)
    stored: Any = None  # the profile's key
    granted: list[str] | None = None  # the access token's scopes, when it states them

    @classmethod
    def of(cls, doc: Doctor) -> _Road:
        from carctl.settings import DEFAULT_PROFILE
        from carctl.vehicle.service import choose

        assert doc.settings is not None
        listed = doc.fact("api", "vehicles", [])
        selector = doc.settings.get("vehicle")
        chosen = [choose(listed, str(selector))] if selector is not None and listed else listed
        profile = doc.settings.profile
        flag = "" if profile == DEFAULT_PROFILE else f" --profile {profile}"
        cars = [car for car in chosen if car.needs_signing]
        return cls(doc, cars, flag, doc.fact("credentials", "credentials"))

    @property
    def names(self) -> str:
        return ", ".join(car.label for car in self.cars)

    @property
    def short(self) -> str:
        return str(self.facts["fingerprint"])[:25] + "…"

    def key(self) -> Finding | None:
        from carctl.api.keys import fingerprint

        vault = self.doc.stack.key_vault(credentials=self.store)
        self.stored = vault.load() if self.store is not None else None
        if self.stored is None:
            return Finding(
                FAIL,
                f"{self.names} takes only signed commands, and this profile has no signing key",
                f"carctl{self.flag} key generate, then host it and pair it "
                f"(carctl{self.flag} key pair)",
            )
        self.facts["fingerprint"] = fingerprint(self.stored.key)
        return None

    def domain(self) -> Finding | None:
        assert self.doc.settings is not None
        if self.doc.settings.get("key.domain") is None:
            return Finding(
                FAIL,
                f"key {self.facts['fingerprint']}, but no domain is set for it",
                "carctl config set key.domain DOMAIN (your application's domain)",
                self.facts,
            )
        return None

    def scopes(self) -> Finding | None:
        from carctl.api.oauth import load_session

        session, _ = load_session(self.store, self.doc.env)
        self.granted = token_scopes(session.access_token if session is not None else None)
        if self.granted is not None and "vehicle_cmds" not in self.granted:
            return Finding(
                FAIL,
                f"the access token's scopes ({' '.join(self.granted)}) do not allow commands",
                'add vehicle_cmds: carctl config set auth.scopes "openid offline_access '
                'vehicle_device_data vehicle_cmds vehicle_location", then carctl auth login --web',
                self.facts,
            )
        return None

    def pairing(self, client: Callable[[], Any]) -> Finding | None:
        from carctl.vehicle.signed import pairing_status

        try:
            with client() as api:
                paired = pairing_status(api, [car.vin for car in self.cars])
        except CarctlError as exc:
            return Finding(
                WARN, f"key {self.short}; pairing not checked: {exc.message}", "", self.facts
            )
        unpaired = [car for car in self.cars if paired.get(car.vin) is False]
        self.facts["paired"] = paired
        if unpaired:
            return Finding(
                FAIL,
                f"key {self.short} is not paired with {', '.join(c.label for c in unpaired)}",
                f'carctl{self.flag} --vehicle "{unpaired[0].display_name}" key pair, then tap '
                "the key card in the car",
                self.facts,
            )
        return None

    def served(self) -> Finding | None:
        from carctl.api.keys import public_pem, well_known_url
        from carctl.api.probe import fetch_https

        assert self.doc.settings is not None
        domain = str(self.doc.settings.get("key.domain"))
        url = well_known_url(domain)
        problem = well_known_verdict(url, public_pem(self.stored.key), fetch_https)
        if problem is not None:
            return Finding(
                FAIL,
                f"key {self.short} paired with {self.names}, but {domain} does not serve it: "
                f"{problem}",
                f"serve the output of `carctl{self.flag} key show` at {url}",
                self.facts,
            )
        return None

    def verdict(self) -> Finding:
        assert self.doc.settings is not None and self.doc.endpoint is not None
        provider = self.doc.endpoint.provider
        domain = self.doc.settings.get("key.domain")
        detail = f"key {self.short} paired with {self.names} and served at {domain}"
        if self.granted is None:
            detail += "; the token does not state its scopes"
        regional = provider is not None and provider.kind is not None and provider.kind.regional
        if regional and provider is not None and not provider.region:
            return Finding(
                WARN,
                detail + "; region not yet known",
                "sign in again (carctl auth login --web) or carctl config set region na|eu|cn",
                self.facts,
            )
        return Finding(PASS, detail, facts=self.facts)
