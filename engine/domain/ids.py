"""Identifiers: plain strings with a fixed shape, built only here."""

from __future__ import annotations

import zlib

__all__ = (
    "MAX_CLIENT_ORDER_ID_LENGTH",
    "base36",
    "client_order_id",
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


def client_order_id(
    prefix: str, strategy_id: str, sequence: int, *, max_length: int = MAX_CLIENT_ORDER_ID_LENGTH
) -> str:
    """The id of a strategy's `sequence`-th order: `<prefix><strategy>-<n>`.

    Characters venues refuse are replaced by `_`; when the strategy id makes the whole too
    long, it is replaced by a stable 7-character checksum of itself (the order manager maps
    ids to strategies by its records, never by parsing).
    """
    name = "".join(c if c in _ID_SAFE else "_" for c in strategy_id)
    tail = f"-{base36(sequence)}" if prefix else f"-{sequence}"
    candidate = f"{prefix}{name}{tail}"
    if len(candidate) <= max_length:
        return candidate
    digest = base36(zlib.crc32(strategy_id.encode())).rjust(7, "0")
    candidate = f"{prefix}{digest}{tail}"
    if len(candidate) > max_length:
        raise ValueError(f"client order id {candidate!r}: longer than {max_length} characters")
    return candidate
