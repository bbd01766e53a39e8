"""One error hierarchy for everything that can go wrong in carctl.

Every failure becomes a `CarctlError` before it reaches the command line; each
knows its exit code (sysexits, as the table in docs/scripting.md), a one-line message that
says what went wrong, a hint that says what to do, and — when an HTTP exchange
was involved — its status, method, path and request id (txid).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carctl.queued import Kept, Queued


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # the car refused, or another failure
    USAGE = 2
    UNAVAILABLE = 69  # the car is unreachable: wake timed out, offline
    INTERNAL = 70
    CANTCREAT = 73  # carctl cannot write its own files (read-only or misplaced home)
    TEMPFAIL = 75  # temporary: queued, or may be retried
    NOPERM = 77  # not signed in, session expired, forbidden
    CONFIG = 78
    INTERRUPTED = 130


class HttpDetails:
    """One HTTP exchange, as support needs it: never a header, never a token.

    A plain class rather than a dataclass: this module is imported by
    `carctl --help`, and dataclasses would pull in `inspect`.
    """

    __slots__ = ("elapsed_ms", "excerpt", "method", "path", "status", "txid")

    def __init__(
        self,
        status: int | None,
        method: str,
        path: str,
        txid: str | None = None,
        elapsed_ms: int | None = None,
        excerpt: str | None = None,  # a short, redacted summary of the body
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.txid = txid
        self.elapsed_ms = elapsed_ms
        self.excerpt = excerpt

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _HTTP_FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HttpDetails) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(tuple(self.to_json().values()))

    def __repr__(self) -> str:
        return f"HttpDetails({self.status}, {self.method} {self.path}, txid={self.txid})"


_HTTP_FIELDS = ("status", "method", "path", "txid", "elapsed_ms", "excerpt")


class CarctlError(Exception):
    """Base of every error carctl reports. Subclasses set `exit_code` and `code`."""

    exit_code: ExitCode = ExitCode.FAILURE
    code: str = "failure"
    retryable: bool = False  # may the delivery layer try the same request again?

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        http: HttpDetails | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.http = http
        self.attempts = attempts
        self.retry_at: float | None = None  # a server's Retry-After, as an epoch time
        self.data: dict[str, Any] | None = None  # what was done before it failed (envelope data)
        self.vehicle: dict[str, Any] | None = None  # the car it concerned (envelope vehicle)
        self.queued: Queued | None = None  # what was queued instead (envelope queued)

    def kept(self, kept: Kept) -> None:
        """Take on what the run did about this failure (see `Delivery.keep_for_later`): what
        was queued and how it will be delivered, or why nothing was, and the diagnosis."""
        if kept.diagnosis is not None:
            self.data = {**(self.data or {}), "diagnosis": dict(kept.diagnosis)}
        if kept.hint is not None:
            self.hint = kept.hint
        self.queued = kept.queued
        if kept.vehicle is not None:
            self.vehicle = self.vehicle or dict(kept.vehicle)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "http": self.http.to_json() if self.http else None,
            "attempts": self.attempts,
        }


class UsageError(CarctlError):
    """Bad input on the command line, caught before anything is sent."""

    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(CarctlError):
    """A configuration, seed or scenario file that cannot be used."""

    exit_code = ExitCode.CONFIG
    code = "config"


class AuthError(CarctlError):
    """Not signed in, session expired, or forbidden."""

    exit_code = ExitCode.NOPERM
    code = "auth"


class SigningRequiredError(AuthError):
    """The car takes only commands signed with Tesla's Vehicle Command Protocol (403)."""

    code = "signing_required"


class KeyNotPairedError(AuthError):
    """The car does not know the key carctl signs with (or the signing proxy's)."""

    code = "key_not_paired"


class CapReachedError(CarctlError):
    """The month's spending cap on a paid vehicle API would be passed: nothing was sent."""

    exit_code = ExitCode.NOPERM
    code = "usage_cap"


class UnreachableError(CarctlError):
    """The car (or a local service) cannot be reached."""

    exit_code = ExitCode.UNAVAILABLE
    code = "unreachable"


class TemporaryError(CarctlError):
    """A failure that may pass: 5xx, network, rate limits. The command may be queued."""

    exit_code = ExitCode.TEMPFAIL
    code = "temporary"


class RefusedError(CarctlError):
    """The car answered `result: false`, or is in service."""

    exit_code = ExitCode.FAILURE
    code = "refused"


class StateError(CarctlError):
    """carctl's own state (database, files) cannot be used."""

    exit_code = ExitCode.CONFIG
    code = "state"


class CannotWriteError(StateError):
    """carctl must write its config, state or log, and the directory does not let it."""

    exit_code = ExitCode.CANTCREAT
    code = "cannot_write"


class InternalError(CarctlError):
    """A bug in carctl; the traceback is in the log file."""

    exit_code = ExitCode.INTERNAL
    code = "internal"


class Interrupted(CarctlError):
    """Ctrl-C: stopped by the user, nothing half-written."""

    exit_code = ExitCode.INTERRUPTED
    code = "interrupted"


# -- what the vehicle API answered -------------------------------------------


class ServiceError(TemporaryError):
    """The vehicle API failed on its side: 500, 502, 503, 504."""

    code = "service"
    retryable = True


class NetworkError(TemporaryError):
    """No answer: connection refused or dropped, timeout, DNS or TLS failure."""

    code = "network"
    retryable = True


class RateLimitedError(TemporaryError):
    """429: the API asks carctl to wait until `retry_at`."""

    code = "rate_limited"
    retryable = True


class HeldBackError(TemporaryError):
    """carctl kept under a provider's per-minute limit itself: nothing was sent.

    Not retried within the run (nothing failed); queued until `retry_at`."""

    code = "held_back"


class ProtocolError(CarctlError):
    """An answer carctl cannot read: not JSON, nested too deep, too large, a redirect.

    Exit 69 (the service is unusable as it answers), not 75: nothing about the
    answer says a retry would read better, so it is neither retried nor queued.
    """

    exit_code = ExitCode.UNAVAILABLE
    code = "protocol"


class VehicleUnavailableError(UnreachableError):
    """408: the car is asleep or offline and cannot take the request now."""

    code = "vehicle_unavailable"


class NotFoundError(CarctlError):
    """404: no such car on this account (or no such endpoint)."""

    exit_code = ExitCode.USAGE
    code = "not_found"


class BadRequestError(RefusedError):
    """400 and other 4xx: the API refused the request as it was sent."""

    code = "bad_request"
