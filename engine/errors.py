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
     └── VenueError
          ├── VenueUnavailable            a venue cannot be reached
          └── MalformedMessage(venue, raw, reason)
"""

from __future__ import annotations

__all__ = (
    "BusError",
    "ConfigError",
    "DataError",
    "InvalidTransition",
    "JournalError",
    "MalformedMessage",
    "OutcomeUnknown",
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
