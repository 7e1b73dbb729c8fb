"""Market data and instrument definitions.

Prices and sizes in market data are floats: they are observations that feed indicators
on every bar, and floats keep that path cheap. Everything that becomes money (order
prices, fills, balances) is Decimal, converted at the instrument's increments.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal

import msgspec

from engine.domain.enums import BookAction, InstrumentClass, OrderSide
from engine.events.base import Command, Event

__all__ = (
    "Bar",
    "BarType",
    "BookDelta",
    "FundingRate",
    "Instrument",
    "QuoteTick",
    "SubscribeBars",
    "SubscribeOrderBook",
    "SubscribeQuoteTicks",
    "SubscribeTradeTicks",
    "TradeTick",
    "UnsubscribeMarketData",
    "timeframe_ns",
)

_UNIT_NS = {
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}


@lru_cache(maxsize=256)
def timeframe_ns(timeframe: str) -> int:
    """Return the length of a timeframe such as "1m", "5m", "1h", "1d" in nanoseconds."""
    unit = timeframe[-1:]
    count = timeframe[:-1]
    if unit not in _UNIT_NS or not count.isdigit() or int(count) <= 0:
        raise ValueError(
            f"timeframe {timeframe!r}: expected a positive count and a unit of s, m, h or d"
        )
    return int(count) * _UNIT_NS[unit]


class BarType(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Which bars: an instrument and a timeframe ("BTC/USDT.SIM" at "1m")."""

    instrument_id: str
    timeframe: str

    @property
    def step_ns(self) -> int:
        return timeframe_ns(self.timeframe)

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.timeframe}"


class Instrument(Event, frozen=True, kw_only=True, gc=False, tag="instrument"):
    """A tradable instrument and the rules orders for it must respect.

    Fees are fractions of notional (0.001 is 0.1%); a negative maker fee is a rebate.
    `multiplier` is the contract size (a future's or option's quote value per unit of
    price and quantity), 1 for spot; an instrument provider loads it from the venue.
    `instrument_class` says how the portfolio books it (`InstrumentClass`): spot, or a linear
    perpetual settled in the quote currency (whose contract size must be 1: its
    quantity is in base units).
    """

    instrument_id: str
    symbol: str
    venue: str
    base_currency: str
    quote_currency: str
    price_increment: Decimal
    size_increment: Decimal
    min_quantity: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    multiplier: Decimal = Decimal(1)
    instrument_class: InstrumentClass = InstrumentClass.SPOT

    def __post_init__(self) -> None:
        if self.instrument_class is InstrumentClass.PERPETUAL and self.multiplier != 1:
            raise ValueError(f"multiplier {self.multiplier}: a perpetual's must be 1 (a linear "
                             "perpetual, its quantity in base units)")


class FundingRate(Event, frozen=True, kw_only=True, gc=False, tag="funding_rate"):
    """A perpetual's funding at `ts_event`: positions pay `rate` x their notional (longs
    pay a positive rate to shorts; a negative rate the other way), at `mark_price`, or
    the last price where the data has none."""

    instrument_id: str
    rate: float
    mark_price: float | None = None


class Bar(Event, frozen=True, kw_only=True, gc=False, tag="bar"):
    """An OHLCV bar. `ts_event` is the bar's close time: the moment its values are known."""

    bar_type: BarType
    open: float
    high: float
    low: float
    close: float
    volume: float


class TradeTick(Event, frozen=True, kw_only=True, gc=False, tag="trade_tick"):
    """One trade printed at the venue."""

    instrument_id: str
    price: float
    size: float
    aggressor_side: OrderSide | None = None
    trade_id: str = ""


class QuoteTick(Event, frozen=True, kw_only=True, gc=False, tag="quote_tick"):
    """The best bid and ask at a moment."""

    instrument_id: str
    bid_price: float
    ask_price: float
    bid_size: float
    ask_size: float


class BookDelta(Event, frozen=True, kw_only=True, gc=False, tag="book_delta"):
    """One change to one price level of an order book (CLEAR: the whole book is emptied).

    `sequence` is the venue's book sequence number when it sends one (0 when not), so a
    consumer can detect a gap and ask for a fresh snapshot. `last` is False on every
    delta of one venue message but its final one (a snapshot's CLEAR and ADDs, a diff
    of several levels): the book is consistent again only after the last, so the
    simulated venue matches, and a strategy should act, only on `last` deltas. A feed
    that sends one delta per message leaves the default.
    """

    instrument_id: str
    side: OrderSide
    action: BookAction
    price: float
    size: float
    sequence: int = 0
    last: bool = True


class SubscribeBars(Command, frozen=True, kw_only=True, gc=False, tag="command.subscribe_bars"):
    """Ask the market data actor to make bars of `bar_type` flow (aggregating if needed)."""

    bar_type: BarType


class SubscribeTradeTicks(
    Command, frozen=True, kw_only=True, gc=False, tag="command.subscribe_trade_ticks"
):
    instrument_id: str


class SubscribeQuoteTicks(
    Command, frozen=True, kw_only=True, gc=False, tag="command.subscribe_quote_ticks"
):
    instrument_id: str


class SubscribeOrderBook(
    Command, frozen=True, kw_only=True, gc=False, tag="command.subscribe_order_book"
):
    """Ask for order book deltas of `instrument_id` (`depth` levels where the venue offers
    a choice; None: the venue's default)."""

    instrument_id: str
    depth: int | None = None


class UnsubscribeMarketData(
    Command, frozen=True, kw_only=True, gc=False, tag="command.unsubscribe_market_data"
):
    """A strategy no longer wants `stream` ("bars", "trades", "quotes", "book") of
    `instrument_id` (bars of `timeframe`). The stream stops once nobody wants it."""

    stream: Literal["bars", "trades", "quotes", "book"]
    instrument_id: str
    timeframe: str | None = None
