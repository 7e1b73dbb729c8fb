"""What each ccxt error means for the adapter: the one table the clients consult.

ccxt's hierarchy (the part that matters here)::

    BaseError
     ├── ExchangeError
     │    ├── AuthenticationError ........ STOP: the adapter stops and says so
     │    │    (PermissionDenied, AccountSuspended)
     │    ├── InsufficientFunds ........... REJECT with the exchange's reason
     │    ├── InvalidOrder ................ REJECT (OrderNotFound: the order is unknown)
     │    ├── BadRequest, BadSymbol ....... REJECT
     │    └── (others) .................... REJECT
     └── OperationFailed ................ UNKNOWN for a submit (Binance -1000, -1001,
          │                               -1004: "unable to process"), retry a query
          └── NetworkError
               ├── DDoSProtection ......... REFUSED: not processed; retry with backoff
               ├── RateLimitExceeded ...... REFUSED (Binance -1003)
               ├── ExchangeNotAvailable ... UNKNOWN for a submit (Binance: a 5xx means
               │                            "execution status unknown"), retry a query
               ├── RequestTimeout ......... UNKNOWN for a submit, retry a query
               └── (others) ............... UNKNOWN for a submit, retry a query

A request refused before it was processed is safe to retry; one that may have been
processed is never retried blindly: a submit becomes in doubt (the caller raises
`OutcomeUnknown`) and the backstop settles it from the exchange's records.
"""

from __future__ import annotations

from enum import Enum

import ccxt

from engine.errors import VenueError

__all__ = ("AuthenticationFailed", "Outcome", "classify", "reason_of", "unwrap")


class AuthenticationFailed(VenueError):
    """The exchange refused the credentials: the adapter stopped (no retry can help)."""


class Outcome(Enum):
    STOP = "stop"
    REJECT = "reject"
    REFUSED = "refused"
    UNKNOWN = "unknown"


def unwrap(error: BaseException) -> BaseException:
    """The ccxt error behind `error`.

    ccxt 4.5.90 turns a refused user-data-stream subscription into a KeyError raised
    while it cleans up (`del client.subscriptions[...]` of a key already gone), with the
    real AuthenticationError as its context; this finds it.
    """
    seen = error
    while not isinstance(seen, ccxt.BaseError):
        following = seen.__cause__ or seen.__context__
        if following is None:
            return error
        seen = following
    return seen


def classify(error: BaseException) -> Outcome:
    """The adapter's reading of a ccxt error (see the module docstring)."""
    error = unwrap(error)
    if isinstance(error, ccxt.AuthenticationError):
        return Outcome.STOP
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return Outcome.REFUSED
    if isinstance(error, ccxt.OperationFailed | TimeoutError | OSError):
        return Outcome.UNKNOWN
    return Outcome.REJECT


def reason_of(error: BaseException) -> str:
    """The exchange's reason, as the rejection event carries it ("<ccxt class>: <text>")."""
    text = str(error).strip() or "no reason given"
    return f"{type(error).__name__}: {text}"
