"""The exception hierarchy of tradebus.

Expected outcomes (a risk denial, a venue rejection, an illegal order transition) are
events, not exceptions. Exceptions are for bad configuration, programmer errors and
broken edges::

    TradebusError
     ├── ConfigError(path, reason)        a config file or value is wrong
     ├── BusError
     │    └── UnknownEndpoint(endpoint)   a command was sent to nobody
     ├── InvalidTransition(order_id, from_state, event_kind)
     ├── DataError(source, line, reason)  a data file row is malformed or out of order
     ├── JournalError                     the event journal cannot be read or written
     ├── FatalError(message, advice)      the daemon cannot go on: one log line, an exit code
     │    ├── JournalDamaged              (also a JournalError) a record failed its check
     │    ├── ForeignJournal              (also a JournalError) written by another config
     │    ├── InstanceLocked              another daemon holds the data dir
     │    └── StorageFailure              the disk is full or the data dir is read-only
     └── VenueError
          ├── VenueUnavailable            a venue cannot be reached
          └── MalformedMessage(venue, raw, reason)
"""

from __future__ import annotations

from typing import ClassVar, Final

__all__ = (
    "BusError",
    "ConfigError",
    "DataError",
    "EXIT_CODES",
    "FatalError",
    "ForeignJournal",
    "InstanceLocked",
    "InvalidTransition",
    "JournalDamaged",
    "JournalError",
    "MalformedMessage",
    "OutcomeUnknown",
    "StorageFailure",
    "TradebusError",
    "UnknownEndpoint",
    "VenueError",
    "VenueUnavailable",
)


class TradebusError(Exception):
    """Base of every error tradebus raises on purpose."""


class ConfigError(TradebusError):
    """A configuration value is missing or wrong; `path` names the field (`$.risk.max_notional`)."""

    def __init__(self, path: str, reason: str, *, file: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}config field {path}: {reason}")


class BusError(TradebusError):
    """The message bus was used wrongly."""


class UnknownEndpoint(BusError):
    """A point-to-point message was sent to an endpoint nobody registered."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"endpoint {endpoint!r}: no handler is registered")


class InvalidTransition(TradebusError):
    """An order event does not fit the order's current state."""

    def __init__(self, order_id: str, from_state: str, event_kind: str) -> None:
        self.order_id = order_id
        self.from_state = from_state
        self.event_kind = event_kind
        super().__init__(f"order {order_id}: {event_kind} is not allowed in state {from_state}")


class DataError(TradebusError):
    """A row of a data source is malformed or out of order; `line` is 1-based."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        super().__init__(f"{source}:{line}: {reason}")


class JournalError(TradebusError):
    """The event journal cannot be read or written."""


class FatalError(TradebusError):
    """A condition the daemon cannot trade through (not a bug): it stops, logs one line
    with the cause and `advice` (what the operator should do), and exits `exit_code`.

    Each cause has its own code (`EXIT_CODES`, documented in docs/daemon.md), so a
    supervisor (systemd, a container runtime) can tell "fix the disk" from "fix the
    config" without parsing logs. A traceback is for a debug flag only.
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, advice: str) -> None:
        self.advice = advice
        super().__init__(message)


class JournalDamaged(JournalError, FatalError):
    """A journal record failed its check (checksum, decoding, seq order, lost WAL or file):
    the daemon refuses to start until the operator verifies and repairs it."""

    exit_code: ClassVar[int] = 10


class ForeignJournal(JournalError, FatalError):
    """The journal was written by another config (account, venues, instruments,
    strategies or parameters): replaying it would invent a history that never happened."""

    exit_code: ClassVar[int] = 11


class InstanceLocked(FatalError):
    """Another daemon process holds the data dir's lock."""

    exit_code: ClassVar[int] = 12


class StorageFailure(FatalError):
    """The disk is full, or the data dir cannot be written: trading stops, nothing
    committed is lost."""

    exit_code: ClassVar[int] = 13


EXIT_CODES: Final[dict[str, int]] = {
    "ok": 0,
    "fatal (other)": FatalError.exit_code,
    "config error": 2,
    "journal damaged": JournalDamaged.exit_code,
    "foreign journal": ForeignJournal.exit_code,
    "instance locked": InstanceLocked.exit_code,
    "storage failure": StorageFailure.exit_code,
    "second signal: forced exit": 130,
}
"""Every exit code the daemon uses, by cause (what docs/daemon.md tabulates)."""


class VenueError(TradebusError):
    """A venue adapter failed."""


class VenueUnavailable(VenueError):
    """A venue cannot be reached right now; adapters retry with backoff."""


class MalformedMessage(VenueError):
    """A wire message from a venue could not be understood; it is counted and skipped."""

    def __init__(self, venue: str, raw: object, reason: str) -> None:
        self.venue = venue
        self.raw = raw
        self.reason = reason
        super().__init__(f"venue {venue}: malformed message: {reason}")


class OutcomeUnknown(VenueError):
    """A request reached the wire but no answer came (timeout, connection lost mid-request).

    Raised by an execution client's submit, cancel or modify: the order may or may not
    have been acted on, so the caller marks it in doubt and lets a venue report decide.
    """
