"""Closed vocabularies shared by events, actors and adapters.

String enums, so the wire and the journal carry readable, stable values.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = (
    "ALL_ORDER_TYPES",
    "LIMIT_PRICED_TYPES",
    "TRAILING_TYPES",
    "TRIGGER_PRICED_TYPES",
    "BookAction",
    "ContingencyType",
    "InstrumentClass",
    "LiquiditySide",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "TimeInForce",
    "TradingState",
    "TrailingOffsetType",
    "TriggerType",
)


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the direction a fill moves the position."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    """What an order is. Stops trigger when the market moves against the position they
    protect (a buy stop as the price rises to its trigger); if-touched orders are their
    mirror (a buy market-if-touched triggers as the price falls to its trigger); trailing
    stops move their trigger after the market, in the order's favour only."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    MARKET_IF_TOUCHED = "market_if_touched"
    LIMIT_IF_TOUCHED = "limit_if_touched"
    TRAILING_STOP_MARKET = "trailing_stop_market"
    TRAILING_STOP_LIMIT = "trailing_stop_limit"


LIMIT_PRICED_TYPES = frozenset({
    OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED,
})
"""The order types whose submitter gives a limit `price`."""
TRIGGER_PRICED_TYPES = frozenset({
    OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.MARKET_IF_TOUCHED,
    OrderType.LIMIT_IF_TOUCHED,
})
"""The order types with a fixed `trigger_price`, required."""
ALL_ORDER_TYPES = frozenset(OrderType)
"""Every order type: what a venue that places them all says it places."""
TRAILING_TYPES = frozenset({OrderType.TRAILING_STOP_MARKET, OrderType.TRAILING_STOP_LIMIT})
"""The trailing stops: a `trailing_offset`, an optional first `trigger_price` the venue
then moves, and (trailing-stop-limit) a `limit_offset` instead of a price."""


class TimeInForce(StrEnum):
    """How long an order works. DAY ends at the end of the trading day (the simulated
    venue: the next UTC midnight of engine time)."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"
    DAY = "day"


class TrailingOffsetType(StrEnum):
    """The unit of a trailing stop's offsets: a price distance, basis points of the
    market price (100 is 1%), or ticks (multiples of the instrument's price increment)."""

    PRICE = "price"
    BASIS_POINTS = "basis_points"
    TICKS = "ticks"


class TriggerType(StrEnum):
    """Which prices a trigger watches. LAST: trades and bars; BID_ASK: quotes (a buy the
    ask, a sell the bid); MARK: the mark price (no engine data carries one yet, so orders
    asking for it are refused); DEFAULT: whatever the venue uses (the simulated venue:
    every kind of item it matches)."""

    DEFAULT = "default"
    LAST = "last"
    BID_ASK = "bid_ask"
    MARK = "mark"


class OrderStatus(StrEnum):
    INITIALIZED = "initialized"
    DENIED = "denied"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TRIGGERED = "triggered"
    PENDING_UPDATE = "pending_update"
    PENDING_CANCEL = "pending_cancel"
    IN_DOUBT = "in_doubt"
    """A submit, cancel or modify got no answer: only a venue report can say what happened."""
    EMULATED = "emulated"
    """Held by the order emulator in the engine (the venue does not place its type)."""
    RELEASED = "released"
    """The emulator released it as a plain order; on its way to the venue."""
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_closed(self) -> bool:
        """True once the order can never change again."""
        return self in _CLOSED


_CLOSED = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.REJECTED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.EXPIRED,
    }
)


class PositionSide(StrEnum):
    FLAT = "flat"
    LONG = "long"
    SHORT = "short"


class LiquiditySide(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class TradingState(StrEnum):
    """Switch what the risk actor lets through: ACTIVE all, REDUCING only shrinking, HALTED none."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class InstrumentClass(StrEnum):
    """What holding an instrument means. SPOT: the base currency itself (a buy pays the
    notional in the quote currency). PERPETUAL: a linear perpetual swap, settled in the
    quote currency: a fill moves no notional, only the pnl it realizes and its fee; open
    positions count at their unrealized pnl, take margin at a margin venue, and pay or
    receive funding."""

    SPOT = "spot"
    PERPETUAL = "perpetual"


class BookAction(StrEnum):
    """What an order book delta does to its price level; CLEAR empties the whole book."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    CLEAR = "clear"


class ContingencyType(StrEnum):
    """How the orders of one order list depend on each other (`engine.actors.contingency`).

    OCO: one fills, the others shrink by what it filled (canceled once it is complete).
    OTO: the children are released only when the parent fills, with its filled quantity.
    BRACKET: an OTO whose two children (stop-loss, take-profit) are an OCO pair.
    EXEC_ALGORITHM: a child of an execution algorithm's parent order (`engine.algos`).
    """

    OCO = "oco"
    OTO = "oto"
    BRACKET = "bracket"
    EXEC_ALGORITHM = "exec_algorithm"
