"""`carctl key` and its bad input: each a clear line and the table's exit code."""

from __future__ import annotations

import json
from pathlib import Path

import segno

from carctl.cli.key import _qr
from tests.conftest import invoke


def test_no_key_is_said_with_the_step_to_take() -> None:
    shown = invoke("key", "show")
    assert shown.code == 2 and "this profile has no signing key" in shown.output
    assert "carctl key generate" in shown.output


def test_a_key_that_cannot_be_read_is_exit_77_not_a_crash(carctl_home: Path) -> None:
    assert invoke("key", "generate").code == 0
    store = carctl_home / "state" / "credentials.json"
    data = json.loads(store.read_text())
    data["entries"]["signing-key:default"] = "-----BEGIN PRIVATE KEY-----\nbroken\n"
    store.write_text(json.dumps(data))
    shown = invoke("key", "show")
    assert shown.code == 77, shown.output
    assert "is not a readable private key" in shown.output
    assert "carctl key generate --force" in shown.output and "Traceback" not in shown.output
    replaced = invoke("key", "generate", "--force")
    assert replaced.code == 77  # the old key is read first (to forget its sessions): unreadable
    store.write_text(json.dumps({"version": 1, "entries": {}}))
    assert invoke("key", "generate").code == 0


def test_a_domain_must_be_a_host_name() -> None:
    for bad in ("https://example.com", "example.com/keys", "localhost", "10.0.0.1", "a-.com"):
        refused = invoke("config", "set", "key.domain", bad)
        assert refused.code == 2, (bad, refused.output)
        assert "expected a host name such as example.com" in refused.output
    assert invoke("config", "set", "key.domain", "Cars.Example.ORG.").code == 0
    assert invoke("config", "get", "key.domain").stdout.strip() == "cars.example.org"


def test_a_vin_that_is_not_one_is_refused_before_anything() -> None:
    assert invoke("key", "generate").code == 0
    assert invoke("config", "set", "key.domain", "example.com").code == 0
    refused = invoke("key", "pair", "--vin", "not-a-vin")
    assert refused.code == 2 and "is not a VIN" in refused.output
    done = invoke("--json", "key", "pair", "--vin", "5yj3e7ea1mf000621")
    assert done.json()["data"]["url"] == "https://tesla.com/_ak/example.com?vin=5YJ3E7EA1MF000621"


def test_the_terminal_qr_code_is_segnos_matrix_cell_for_cell() -> None:
    url = "https://tesla.com/_ak/example.com?vin=5YJ3E7EA1MF000621"
    lines = _qr(url).split("\n")
    # a drawn half is a light module (dark text on a light terminal reads as inverted:
    # phone scanners read both); True is a dark module, as in segno's matrix
    top = {"█": False, "▄": True, "▀": False, " ": True}
    bottom = {"█": False, "▄": False, "▀": True, " ": True}
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    matrix = [[bool(cell) for cell in row] for row in segno.make(url, error="m").matrix]
    inner = [row[2 : 2 + len(matrix)] for row in rows[2 : 2 + len(matrix)]]
    assert str(inner) == str(matrix)  # compared as text: a failing diff of bools is slow
    assert not any(any(row) for row in rows[:2] + rows[2 + len(matrix) :])  # quiet zone
