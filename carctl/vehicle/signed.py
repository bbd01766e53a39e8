"""Signed commands over the Fleet API's `POST /api/1/vehicles/{vin}/signed_command`.

The body is `{"routable_message": base64}` and a 200 answer is
`{"response": base64}` (protocol.md, "HTTPS"); the HTTP layer (retries within
budget, the breaker, 408 for a sleeping car) is the ordinary client's. This
module adds the protocol's rules and says the car's faults in carctl's terms:

- no session yet: one handshake per domain, kept in `state.db` for the next run;
- a stale session (the car rebooted: new epoch; a counter or signature the car
  refuses with fresh session info attached) → that session, one retry, never more;
- a counter refused after the same signed bytes went out twice (an HTTP retry)
  is not re-signed: the first copy may have been executed;
- a command past its deadline is refused by the car itself and never retried;
- an answer that does not authenticate is an attack: nothing is retried.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.client import ApiClient
from carctl.clock import Clock
from carctl.errors import (
    AuthError,
    CarctlError,
    KeyNotPairedError,
    ProtocolError,
    RefusedError,
    TemporaryError,
    UsageError,
)
from carctl.records import record
from carctl.signing import actions, wire
from carctl.signing import messages as m
from carctl.signing.session import (
    MAX_TTL_S,
    TTL_S,
    Fault,
    NotPaired,
    SessionState,
    Signer,
    Unauthenticated,
)
from carctl.signing.store import SessionStore

log = logging.getLogger("carctl.signing")
RESYNC_FAULTS = {
    m.FAULT_INVALID_SIGNATURE,
    m.FAULT_INVALID_TOKEN_OR_COUNTER,
    m.FAULT_INCORRECT_EPOCH,
    m.FAULT_REPEATED_COUNTER,
}
TRANSIENT_FAULTS = {m.FAULT_BUSY, m.FAULT_TIMEOUT, m.FAULT_INTERNAL}


class CarExpiredError(RefusedError):
    """The car refused a signed command that reached it after its deadline."""

    code = "expired_at_car"


class UnauthenticatedAnswerError(ProtocolError):
    code = "unauthenticated_answer"


def not_paired(label: str, profile_hint: str = "") -> KeyNotPairedError:
    return KeyNotPairedError(
        f"this key is not paired with {label}: the car does not know it",
        hint=f"pair it: carctl{profile_hint} key pair, then tap the key card in the car "
        "when the Tesla app asks",
    )


@record(frozen=True)
class SignedOutcome:
    result: bool
    reason: str


BeforeSend = Callable[[], None]


class SignedChannel:
    """One run's signer: a key, the session store, the HTTP client."""

    def __init__(
        self,
        client: ApiClient,
        key: ec.EllipticCurvePrivateKey,
        sessions: SessionStore,
        *,
        clock: Clock,
        profile_hint: str = "",
    ) -> None:
        self.client = client
        self.key = key
        self.sessions = sessions
        self.clock = clock
        self.profile_hint = profile_hint

    def _post(
        self,
        vin: str,
        message: m.RoutableMessage,
        *,
        idempotency_key: str | None = None,
        before_send: BeforeSend | None = None,
        label: str = "session_info",
        retry: bool = True,
    ) -> m.RoutableMessage:
        body = {"routable_message": base64.b64encode(message.encode()).decode()}
        data = self.client.request(
            "POST",
            f"/api/1/vehicles/{vin}/signed_command",
            json_body=body,
            idempotency_key=idempotency_key,
            before_send=before_send,
            label=label,  # the ledger names the action, not the envelope
            retry=retry,
        )
        if not isinstance(data, str):
            raise ProtocolError("the signed_command answer has no base64 `response`")
        try:
            return m.RoutableMessage.decode(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError, wire.WireError):
            raise ProtocolError("the signed_command answer is not a readable message") from None

    def _handshake(self, signer: Signer, vin: str, domain: int, label: str) -> SessionState:
        request = signer.handshake(domain)
        sent_at = self.clock.now()
        answer = self._post(vin, request)
        try:
            state = signer.accept_handshake(request, answer, sent_at)
        except NotPaired:
            raise not_paired(label, self.profile_hint) from None
        except Unauthenticated as exc:
            raise _attack(label, str(exc)) from None
        except Fault as exc:
            raise self._fault_error(exc, label, domain) from None
        self.sessions.learn(vin, domain, state, now=self.clock.now())
        log.info("signing: new %s session with %s", m.DOMAIN_NAMES[domain], vin)
        return state

    def send(
        self,
        vin: str,
        label: str,
        name: str,
        params: dict[str, Any],
        *,
        deadline: float | None = None,
        idempotency_key: str | None = None,
        before_send: BeforeSend | None = None,
        retry: bool = True,
    ) -> SignedOutcome:
        """Sign and send one command; a refusal that a resync cures is sent once more, signed
        anew (never when the first may have been executed)."""
        domain, payload = _encoded(name, params, label)
        signer = Signer(self.key, vin, now=self.clock.now)
        if self.sessions.load(vin, domain) is None:
            self._handshake(signer, vin, domain, label)
        for attempt in (1, 2):
            reserved = self.sessions.reserve(vin, domain)
            if reserved is None:  # forgotten meanwhile (`key generate --force`)
                self._handshake(signer, vin, domain, label)
                continue
            state, counter = reserved
            now = self.clock.now()
            until = min(deadline if deadline is not None else now + TTL_S, now + MAX_TTL_S)
            if until <= now:
                raise CarExpiredError(
                    f"{name} for {label} was not sent: its deadline passed",
                    hint="nothing reached the car",
                )
            sent = signer.sign(domain, state, counter, payload, state.car_time(until))
            sends = [0]

            def counted(before: BeforeSend | None = before_send, sends: list[int] = sends) -> None:
                sends[0] += 1
                if before is not None:
                    before()

            answer = self._post(
                vin,
                sent.message,
                idempotency_key=f"{idempotency_key}-{attempt}" if idempotency_key else None,
                before_send=counted,
                label=name,
                retry=retry,
            )
            asked = _Asked(vin, domain, label, name)
            result = self._answer(
                signer, sent, answer, now, asked, again=attempt == 1, sends=sends[0]
            )
            if result is not None:
                return _outcome(domain, result, label, name)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _answer(
        self,
        signer: Signer,
        sent: Any,
        answer: Any,
        now: float,
        asked: _Asked,
        *,
        again: bool,
        sends: int,
    ) -> Any:
        """The car's verified answer; None: it asks to resynchronise and may have the command
        once more (done here); otherwise its refusal as a carctl error."""
        vin, domain, label, name = asked
        try:
            return signer.read_answer(sent, answer, now)
        except NotPaired:
            self.sessions.forget(vin)
            raise not_paired(label, self.profile_hint) from None
        except Unauthenticated as exc:
            raise _attack(label, str(exc)) from None
        except Fault as exc:
            if exc.resync is not None:
                self.sessions.learn(vin, domain, exc.resync, now=self.clock.now())
            if not (exc.code in RESYNC_FAULTS and again and sends <= 1):
                raise self._fault_error(exc, label, domain, sends=sends) from None
            if exc.resync is None:
                self.sessions.forget(vin)
                self._handshake(signer, vin, domain, label)
            log.info("signing: %s refused (%s); resynchronised, sending once more", name, exc)
            return None

    def _fault_error(self, fault: Fault, label: str, domain: int, *, sends: int = 1) -> CarctlError:
        code = fault.code
        what = f"{label}'s {m.DOMAIN_NAMES.get(domain, 'domain')} refused the signed command"
        if code == m.FAULT_TIME_EXPIRED:
            return CarExpiredError(
                f"{what}: it arrived after its deadline, so the car did not execute it",
                hint="nothing was executed; send it again if it is still wanted",
            )
        if code in TRANSIENT_FAULTS:
            return TemporaryError(f"{what}: {fault} (the car asks to try again)")
        if code == m.FAULT_INSUFFICIENT_PRIVILEGES:
            return AuthError(
                f"{what}: this key's role does not allow it",
                hint="pair the key as an owner or driver key in the Tesla app",
            )
        if code == m.FAULT_REMOTE_ACCESS_DISABLED:
            return RefusedError(
                f"{what}: Mobile Access is turned off in the car",
                hint="turn on Controls > Safety > Allow Mobile Access",
            )
        if code in RESYNC_FAULTS and sends > 1:
            return TemporaryError(
                f"{what}: {fault}, after the same command went out twice; it may have "
                "been executed by the first copy, so carctl did not sign it again",
                hint="check the car (carctl status) before sending it again",
            )
        if code in RESYNC_FAULTS:
            return ProtocolError(f"{what}: {fault}, again after a fresh session")
        if code == m.FAULT_WRONG_PERSONALIZATION:
            return ProtocolError(f"{what}: it was signed for another VIN")
        name = m.FAULT_NAMES.get(code)
        if name is None:
            return ProtocolError(f"{what} with a fault carctl does not know (code {code})")
        return ProtocolError(f"{what}: {name} (fault {code})")


def _attack(label: str, detail: str) -> UnauthenticatedAnswerError:
    return UnauthenticatedAnswerError(
        f"the answer from {label} could not be authenticated ({detail}); carctl treats it "
        "as tampering and retries nothing",
        hint="if this repeats, something between carctl and the car alters messages: "
        "check proxies, and run carctl doctor",
    )


def missing_key(label: str, profile_hint: str = "") -> AuthError:
    from carctl.errors import SigningRequiredError

    return SigningRequiredError(
        f"{label} takes only commands signed with Tesla's Vehicle Command Protocol, and "
        "this profile has no key to sign them",
        hint=f"create one and pair it: carctl{profile_hint} key generate, host the public key "
        f"(carctl{profile_hint} key show), carctl{profile_hint} key pair. README: 'Using a "
        "real car'",
    )


def pairing_status(client: ApiClient, vins: list[str]) -> dict[str, bool | None]:
    """Per VIN: is the application's key paired (True), not (False), or not reported (None).

    `POST /api/1/vehicles/fleet_status` with `{"vins": [...]}` answers
    `key_paired_vins` and `unpaired_vins` (Tesla's Fleet API docs, "fleet_status";
    tesla-fleet-api's `Vehicles.fleet_status`)."""
    if not vins:
        return {}
    data = client.request("POST", "/api/1/vehicles/fleet_status", json_body={"vins": vins})
    if not isinstance(data, dict):
        raise ProtocolError("fleet_status answered without its fields")
    paired = data.get("key_paired_vins")
    unpaired = data.get("unpaired_vins")
    if not isinstance(paired, list) or not isinstance(unpaired, list):
        raise ProtocolError("fleet_status answered without key_paired_vins / unpaired_vins")
    known = {str(v).upper(): True for v in paired} | {str(v).upper(): False for v in unpaired}
    return {vin: known.get(vin.upper()) for vin in vins}


class _Asked(NamedTuple):
    """Which car and domain a signed command went to, and how messages name it."""

    vin: str
    domain: int
    label: str
    name: str


def _encoded(name: str, params: dict[str, Any], label: str) -> tuple[int, bytes]:
    try:
        return actions.encode(name, params)
    except actions.UnsupportedCommand as exc:
        raise UsageError(
            f"carctl cannot sign {name} for {label} yet ({exc})",
            hint="send it through Tesla's signing proxy: carctl config set api_url proxy",
        ) from None


def _outcome(domain: int, result: Any, label: str, name: str) -> SignedOutcome:
    try:
        ok, reason = actions.read_result(domain, result)
    except wire.WireError:
        raise ProtocolError(f"{label} answered {name} with an unreadable result") from None
    return SignedOutcome(ok, reason)
