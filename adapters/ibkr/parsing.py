"""Pure translations between IB's words and the engine's: order terms, statuses, errors.

IB error codes fall in three groups that matter to an order (`classify_error`):

- notices that leave a live order live: 2100-2199 (data farm and API notices), 399
  (order message warning), 404 (shares being located), 10167 (delayed data), 1100-1102
  (connectivity; the connection handles those);
- 202: the order was cancelled (a cancel's confirmation, or the gateway's own);
- everything else, for an order, refuses what was asked: before acceptance it rejects
  the order (201, 110 off-tick price, 434 zero size, 200 no contract, ...); for a cancel
  or modify in flight it refuses that request (10147, 161, 104, ...).

ib_async marks a trade "Cancelled" on most of these (201 included); the adapter reads
the code instead, so a rejection is reported as one, with IB's reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Final

from ib_async import Order

from engine.domain.enums import (
    LIMIT_PRICED_TYPES,
    TRAILING_TYPES,
    TRIGGER_PRICED_TYPES,
    LiquiditySide,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from engine.events.orders import SubmitOrder

__all__ = (
    "ErrorKind",
    "WORKING_STATUSES",
    "classify_error",
    "ib_order",
    "liquidity_side",
    "order_type_of",
    "set_trailing_terms",
    "side_of",
    "time_in_force_of",
    "to_ns",
)

WORKING_STATUSES: Final = frozenset({"PreSubmitted", "Submitted", "PendingCancel"})
"""IB statuses of an order the venue has and works (ApiPending/PendingSubmit: not yet)."""

_NOTICE_CODES: Final = frozenset({399, 404, 10167, 1100, 1101, 1102})
_CANCELLED_CODE: Final = 202

_ORDER_TYPES: Final = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP_MARKET: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
    OrderType.MARKET_IF_TOUCHED: "MIT",
    OrderType.LIMIT_IF_TOUCHED: "LIT",
    OrderType.TRAILING_STOP_MARKET: "TRAIL",
    OrderType.TRAILING_STOP_LIMIT: "TRAIL LIMIT",
}
_ENGINE_TYPES: Final = {name: kind for kind, name in _ORDER_TYPES.items()}
_TIFS: Final = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
                TimeInForce.GTD: "GTD", TimeInForce.DAY: "DAY"}
_ENGINE_TIFS: Final = {name: tif for tif, name in _TIFS.items()}
_TRIGGER_METHODS: Final = {TriggerType.DEFAULT: 0, TriggerType.LAST: 2, TriggerType.BID_ASK: 4}
"""IB's triggerMethod: 0 its default, 2 last, 4 bid/ask (a buy the ask, a sell the bid)."""


class ErrorKind(Enum):
    NOTICE = "notice"
    CANCELLED = "cancelled"
    REFUSAL = "refusal"


def classify_error(code: int) -> ErrorKind:
    """Which of the three groups of the module docstring `code` belongs to."""
    if 2100 <= code < 2200 or code in _NOTICE_CODES:
        return ErrorKind.NOTICE
    if code == _CANCELLED_CODE:
        return ErrorKind.CANCELLED
    return ErrorKind.REFUSAL


def ib_order(
    command: SubmitOrder, *, account: str, price_increment: Decimal | None = None
) -> Order:
    """The ib_async order of a submit; `orderRef` carries the client order id.

    Every engine type has an IB one: if-touched orders are MIT / LIT (trigger in
    `auxPrice`), trailing stops TRAIL / TRAIL LIMIT with the offset as an amount in
    `auxPrice` (ticks times `price_increment`) or, in basis points, as `trailingPercent`,
    the first trigger in `trailStopPrice` and a trailing-stop-limit's limit offset in
    `lmtPriceOffset` (an amount: IB takes no percentage there). The trigger type is
    `triggerMethod`.

    Raises:
        ValueError: a term IB orders cannot carry (a GTD without its expiry, a mark
            trigger, a limit offset in basis points, ticks without the increment).
    """
    trigger_method = _TRIGGER_METHODS.get(command.trigger_type)
    if trigger_method is None:
        raise ValueError(f"order {command.client_order_id}: trigger_type "
                         f"{command.trigger_type} has no IB trigger method")
    order = Order(
        action="BUY" if command.side is OrderSide.BUY else "SELL",
        totalQuantity=float(command.quantity),
        orderType=_ORDER_TYPES[command.order_type],
        tif=_TIFS[command.time_in_force],
        orderRef=command.client_order_id,
        account=account,
    )
    order.triggerMethod = trigger_method
    if command.order_type in LIMIT_PRICED_TYPES:
        if command.price is None:
            raise ValueError(f"order {command.client_order_id}: a limit needs a price")
        order.lmtPrice = float(command.price)
    if command.order_type in TRIGGER_PRICED_TYPES:
        if command.trigger_price is None:
            raise ValueError(f"order {command.client_order_id}: a stop needs a trigger price")
        order.auxPrice = float(command.trigger_price)
    if command.order_type in TRAILING_TYPES:
        set_trailing_terms(order, command, price_increment)
    if command.time_in_force is TimeInForce.GTD:
        if command.expire_ns is None:
            raise ValueError(f"order {command.client_order_id}: GTD needs expire_ns")
        expiry = datetime.fromtimestamp(command.expire_ns // 1_000_000_000, UTC)
        order.goodTillDate = expiry.strftime("%Y%m%d-%H:%M:%S")  # IB reads this form as UTC
    return order


def set_trailing_terms(order: Order, command: SubmitOrder, price_increment: Decimal | None
                       ) -> None:
    """Put a trailing stop's offsets (and first trigger, if given) on IB's order fields
    (see `ib_order`); a modify of the offsets sends them again this way.

    Raises:
        ValueError: an offset IB cannot carry (see `ib_order`).
    """
    name = command.client_order_id
    offset_type = command.trailing_offset_type
    if command.trailing_offset is None:
        raise ValueError(f"order {name}: a trailing stop needs a trailing_offset")
    if offset_type is TrailingOffsetType.TICKS and price_increment is None:
        raise ValueError(f"order {name}: trailing_offset in ticks needs the price increment")
    if offset_type is TrailingOffsetType.BASIS_POINTS:
        order.trailingPercent = float(command.trailing_offset / 100)
    else:
        order.auxPrice = float(_amount(command.trailing_offset, offset_type, price_increment))
    if command.trigger_price is not None:
        order.trailStopPrice = float(command.trigger_price)
    if command.order_type is OrderType.TRAILING_STOP_LIMIT:
        if command.limit_offset is None:
            raise ValueError(f"order {name}: a trailing-stop-limit needs a limit_offset")
        if offset_type is TrailingOffsetType.BASIS_POINTS:
            raise ValueError(f"order {name}: limit_offset in basis_points: IB takes a "
                             "trailing-stop-limit's limit offset as a price amount")
        order.lmtPriceOffset = float(_amount(command.limit_offset, offset_type, price_increment))


def _amount(
    offset: Decimal, offset_type: TrailingOffsetType, price_increment: Decimal | None
) -> Decimal:
    if offset_type is TrailingOffsetType.TICKS and price_increment is not None:
        return offset * price_increment
    return offset


def side_of(action: str) -> OrderSide:
    """BUY / BOT -> buy, SELL / SLD -> sell."""
    return OrderSide.BUY if action in ("BUY", "BOT") else OrderSide.SELL


def order_type_of(order_type: str) -> OrderType:
    """IB's order type name as the engine's (an unknown one reads as a limit)."""
    return _ENGINE_TYPES.get(order_type, OrderType.LIMIT)


def time_in_force_of(tif: str) -> TimeInForce:
    return _ENGINE_TIFS.get(tif, TimeInForce.GTC)


def liquidity_side(last_liquidity: int) -> LiquiditySide:
    """IB's lastLiquidity: 1 added liquidity (maker); 2 and 3 removed it (taker)."""
    return LiquiditySide.MAKER if last_liquidity == 1 else LiquiditySide.TAKER


def to_ns(moment: datetime) -> int:
    """A zone-aware datetime as epoch nanoseconds (microsecond precision, as IB gives)."""
    delta = moment - datetime.fromtimestamp(0, moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
