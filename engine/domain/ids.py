"""Identifiers: plain strings with a fixed shape, built only here."""

from __future__ import annotations

__all__ = ("instrument_id", "split_instrument_id")


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
