"""Value types and rules with no I/O: enums, money, ids, the order lifecycle, the L2 book."""

from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRAILING_TYPES,
    TRIGGER_PRICED_TYPES,
    BookAction,
    ContingencyType,
    LiquiditySide,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    TradingState,
    TrailingOffsetType,
    TriggerType,
)
from engine.domain.ids import instrument_id, split_instrument_id
from engine.domain.lifecycle import TRANSITIONS, next_status
from engine.domain.money import (
    ZERO,
    is_on_increment,
    round_down_to_increment,
    round_to_increment,
    to_decimal,
)
from engine.domain.order import Order
from engine.domain.order_book import (
    BookDepth,
    OrderBook,
    OrderBookState,
    OrderBookStatistics,
    OrderBookView,
    TakeEstimate,
)
from engine.domain.reports import (
    AccountReport,
    BalanceReport,
    FillReport,
    OrderStatusReport,
    PositionReport,
)

__all__ = (
    "LIMIT_PRICED_TYPES",
    "TRAILING_TYPES",
    "TRIGGER_PRICED_TYPES",
    "AccountReport",
    "BalanceReport",
    "FillReport",
    "OrderStatusReport",
    "PositionReport",
    "TRANSITIONS",
    "ZERO",
    "BookAction",
    "BookDepth",
    "ContingencyType",
    "LiquiditySide",
    "Order",
    "OrderBook",
    "OrderBookState",
    "OrderBookStatistics",
    "OrderBookView",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "TakeEstimate",
    "TimeInForce",
    "TradingState",
    "TrailingOffsetType",
    "TriggerType",
    "instrument_id",
    "is_on_increment",
    "next_status",
    "round_down_to_increment",
    "round_to_increment",
    "split_instrument_id",
    "to_decimal",
)
