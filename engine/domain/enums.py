"""Closed vocabularies shared by events, actors and adapters.

String enums, so the wire and the journal carry readable, stable values.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = (
    "BookAction",
    "ContingencyType",
    "LiquiditySide",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "TimeInForce",
    "TradingState",
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
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


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
