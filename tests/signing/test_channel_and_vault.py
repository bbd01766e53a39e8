"""The car's faults in carctl's terms (exit codes and words), and the key in the keyring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.credentials import open_credentials
from carctl.api.keys import KeyVault, fingerprint, generate, private_pem
from carctl.errors import AuthError, ProtocolError, RefusedError, TemporaryError
from carctl.signing import messages as m
from carctl.signing.session import Fault
from carctl.vehicle.signed import CarExpiredError, SignedChannel, pairing_status


def _error(code: int, sends: int = 1) -> Any:
    channel = SignedChannel.__new__(SignedChannel)
    return channel._fault_error(Fault(code, None), "Model 3", m.INFOTAINMENT, sends=sends)


@pytest.mark.parametrize(
    ("code", "kind", "exit_code", "words"),
    [
        (m.FAULT_TIME_EXPIRED, CarExpiredError, 1, "arrived after its deadline"),
        (m.FAULT_BUSY, TemporaryError, 75, "busy (the car asks to try again)"),
        (m.FAULT_INTERNAL, TemporaryError, 75, "internal error"),
        (m.FAULT_INSUFFICIENT_PRIVILEGES, AuthError, 77, "this key's role does not allow it"),
        (m.FAULT_REMOTE_ACCESS_DISABLED, RefusedError, 1, "Mobile Access is turned off"),
        (m.FAULT_INCORRECT_EPOCH, ProtocolError, 69, "again after a fresh session"),
        (m.FAULT_WRONG_PERSONALIZATION, ProtocolError, 69, "signed for another VIN"),
        (m.FAULT_DECODING, ProtocolError, 69, "decoding error (fault 10)"),
        (250, ProtocolError, 69, "a fault carctl does not know (code 250)"),
    ],
)
def test_each_fault_is_one_line_and_its_exit_code(
    code: int, kind: type, exit_code: int, words: str
) -> None:
    error = _error(code)
    assert isinstance(error, kind) and int(error.exit_code) == exit_code
    assert words in error.message
    assert error.message.startswith("Model 3's infotainment refused the signed command")


def test_a_refused_counter_after_two_copies_went_out_is_not_signed_again() -> None:
    error = _error(m.FAULT_INVALID_TOKEN_OR_COUNTER, sends=2)
    assert isinstance(error, TemporaryError)
    assert "may have been executed by the first copy" in error.message
    assert "carctl status" in (error.hint or "")


def test_fleet_status_answers_are_read_strictly() -> None:
    class Client:
        def __init__(self, answer: Any) -> None:
            self.answer = answer

        def request(self, *args: Any, **kwargs: Any) -> Any:
            return self.answer

    vins = ["5YJ3E7EA1MF000621", "7SAYGDEE0NF000242", "5YJSA1E2XMF000001"]
    answer = {"key_paired_vins": ["5yj3e7ea1mf000621"], "unpaired_vins": [vins[1]]}
    assert pairing_status(Client(answer), vins) == {vins[0]: True, vins[1]: False, vins[2]: None}  # type: ignore[arg-type]
    assert pairing_status(Client(None), []) == {}  # type: ignore[arg-type]
    for bad in ([], {"key_paired_vins": "all"}):
        with pytest.raises(ProtocolError):
            pairing_status(Client(bad), vins)  # type: ignore[arg-type]


def test_the_key_lives_in_the_keyring_when_there_is_one(
    memory_keyring: Any, carctl_home: Path
) -> None:
    stores = open_credentials(
        state_dir=carctl_home / "state",
        profile="default",
        origin="fleet",
        env={},
        require_keyring=False,
        backend=memory_keyring,
    )
    vault = KeyVault(stores, "default")
    assert vault.load() is None
    key = generate()
    where = vault.save(key)
    assert where.kind == "keyring"
    loaded = vault.load()
    assert loaded is not None and fingerprint(loaded.key) == fingerprint(key)
    assert not (carctl_home / "state" / "credentials.json").exists()  # not in the file too
    assert [loc.kind for loc in vault.delete()] == ["keyring"]
    assert vault.load() is None


def test_a_key_on_another_curve_is_refused(carctl_home: Path) -> None:
    from carctl.api.keys import parse_private

    other = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(AuthError, match="not a NIST P-256 key"):
        parse_private(private_pem(other), "the test store")
