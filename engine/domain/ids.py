"""Identifiers: plain strings with a fixed shape, built only here."""

from __future__ import annotations

import zlib

__all__ = (
    "MAX_CLIENT_ORDER_ID_LENGTH",
    "base36",
    "ClientOrderIds",
    "derived_order_id",
    "instrument_id",
    "session_order_prefix",
    "split_instrument_id",
)


def instrument_id(symbol: str, venue: str) -> str:
    """Return the id of `symbol` on `venue`: "BTC/USDT.SIM". The venue is the last segment."""
    if not symbol or not venue or "." in venue:
        raise ValueError(f"instrument symbol {symbol!r} venue {venue!r}: both are required, "
                         "and the venue has no dot")
    return f"{symbol}.{venue}"


def split_instrument_id(value: str) -> tuple[str, str]:
    """Return (symbol, venue) of an instrument id."""
    symbol, dot, venue = value.rpartition(".")
    if not dot or not symbol or not venue:
        raise ValueError(f"instrument id {value!r}: expected SYMBOL.VENUE")
    return symbol, venue


MAX_CLIENT_ORDER_ID_LENGTH = 36
"""The strictest common venue limit (Binance: 36 characters); every id we make fits it."""
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_SAFE = frozenset(_BASE36 + _BASE36.upper() + "-_")


def base36(value: int) -> str:
    """`value` (>= 0) in base 36, lower case: a compact, sortable-by-length id part."""
    if value < 0:
        raise ValueError(f"base36 {value}: must be >= 0")
    digits = []
    while True:
        value, rest = divmod(value, 36)
        digits.append(_BASE36[rest])
        if not value:
            return "".join(reversed(digits))


def session_order_prefix(epoch_ms: int) -> str:
    """The client order id prefix of a daemon session started at `epoch_ms` (wall time).

    A session's ids are unique across restarts because no two sessions share a start
    millisecond (the node makes each one later than the journal's last): even with a
    fresh or truncated journal, no id a venue has already seen comes back.
    """
    return f"{base36(epoch_ms)}-"


class ClientOrderIds:
    """The client order ids of one strategy: `<prefix><strategy>-<n>`.

    Without a prefix (backtests) `n` is decimal ("sma-17"); in a daemon session it is
    base 36 after the session's prefix ("mwm0nk74-sma-h"). Characters venues refuse are
    replaced by `_`; when the strategy id makes an id longer than `max_length`, it is
    replaced by a stable 7-character checksum of itself (the order manager maps ids to
    strategies by its records, never by parsing). The parts are built once, so making an
    id per order is one format and one length test.
    """

    __slots__ = ("_head", "_max_length", "_prefixed", "_short_head")

    def __init__(
        self, strategy_id: str, prefix: str = "", *, max_length: int = MAX_CLIENT_ORDER_ID_LENGTH
    ) -> None:
        name = "".join(c if c in _ID_SAFE else "_" for c in strategy_id)
        digest = base36(zlib.crc32(strategy_id.encode())).rjust(7, "0")
        self._head = f"{prefix}{name}-"
        self._short_head = f"{prefix}{digest}-"
        self._prefixed = bool(prefix)
        self._max_length = max_length

    def make(self, sequence: int) -> str:
        tail = base36(sequence) if self._prefixed else str(sequence)
        candidate = self._head + tail  # the usual case ends here: one join, one length test
        if len(candidate) <= self._max_length:
            return candidate
        candidate = self._short_head + tail
        if len(candidate) > self._max_length:
            raise ValueError(f"client order id {candidate!r}: longer than {self._max_length}")
        return candidate


def derived_order_id(client_order_id: str, mark: str, number: int) -> str:
    """The client order id of the `number`-th order the engine derives from another: a
    follow-up carrying on for a bracket's exit (`mark` "F"), a child of an execution
    algorithm's parent ("C").

    `<id>-<mark><n>`: an upper-case tail, which `ClientOrderIds` never makes, so it can
    name no strategy's order; an id too long for it is replaced by its checksum, as there.
    """
    if not mark.isupper():
        raise ValueError(f"derived order id mark {mark!r}: must be upper case")
    tail = f"-{mark}{base36(number)}"
    if len(client_order_id) + len(tail) <= MAX_CLIENT_ORDER_ID_LENGTH:
        return client_order_id + tail
    return base36(zlib.crc32(client_order_id.encode())).rjust(7, "0") + tail
