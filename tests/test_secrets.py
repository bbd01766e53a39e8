"""No token or password in any file carctl writes (except the credential store) or prints."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PASSWORD, Endpoint, Result, invoke, sign_in

VEHICLES = "/api/1/vehicles"


def test_secrets_never_leave_the_credential_store(endpoint: Endpoint, carctl_home: Path) -> None:
    store = carctl_home / "state" / "credentials.json"
    secrets: set[str] = {PASSWORD}
    outputs: list[Result] = []

    def remember() -> None:
        for entry in json.loads(store.read_text())["entries"].values():
            secrets.update({entry["access_token"], entry["refresh_token"]})

    outputs.append(sign_in())
    remember()
    outputs.append(invoke("-vv", "api", VEHICLES))
    endpoint.advance(9 * 3600)  # the next request is refused, then the session renewed
    outputs.append(invoke("-vv", "--json", "api", VEHICLES))
    remember()
    outputs.append(invoke("-v", "auth", "status"))
    outputs.append(invoke("--json", "auth", "status"))
    endpoint.faults({"path": VEHICLES, "status": 500, "count": 1})
    outputs.append(invoke("-vv", "api", VEHICLES))
    outputs.append(invoke("-v", "--json", "api", VEHICLES))
    outputs.append(invoke("config", "list"))
    refused = invoke(
        "auth", "login", "--email", "owner@example.com", "--password-stdin", input="bad-pass-77\n"
    )
    secrets.add("bad-pass-77")
    outputs.append(refused)
    outputs.append(invoke("-v", "auth", "logout"))
    assert len(secrets) >= 5  # the password, a wrong one, two generations of tokens

    leaks = []
    for result in outputs:
        for secret in secrets:
            if secret in result.output:
                leaks.append(f"output of a run: {secret[:6]}…")
    for path in carctl_home.rglob("*"):
        if path.is_dir() or path == store:
            continue
        content = path.read_bytes()
        for secret in secrets:
            if secret.encode() in content:
                leaks.append(f"{path.relative_to(carctl_home)}: {secret[:6]}…")
    assert leaks == []
    assert (carctl_home / "log" / "carctl.log").exists()  # the scan covered the log
    assert (carctl_home / "state" / "state.db").exists()  # and the request log
