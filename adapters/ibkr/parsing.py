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
from enum import Enum
from typing import Final

from ib_async import Order

from engine.domain.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from engine.events.orders import SubmitOrder

__all__ = (
    "ErrorKind",
    "WORKING_STATUSES",
    "classify_error",
    "ib_order",
    "liquidity_side",
    "order_type_of",
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
}
_ENGINE_TYPES: Final = {name: kind for kind, name in _ORDER_TYPES.items()}
_TIFS: Final = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
                TimeInForce.GTD: "GTD"}
_ENGINE_TIFS: Final = {name: tif for tif, name in _TIFS.items()} | {"DAY": TimeInForce.GTC}


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


def ib_order(command: SubmitOrder, *, account: str) -> Order:
    """The ib_async order of a submit; `orderRef` carries the client order id.

    Raises:
        ValueError: a term IB orders cannot carry (a GTD without its expiry).
    """
    order = Order(
        action="BUY" if command.side is OrderSide.BUY else "SELL",
        totalQuantity=float(command.quantity),
        orderType=_ORDER_TYPES[command.order_type],
        tif=_TIFS[command.time_in_force],
        orderRef=command.client_order_id,
        account=account,
    )
    if command.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if command.price is None:
            raise ValueError(f"order {command.client_order_id}: a limit needs a price")
        order.lmtPrice = float(command.price)
    if command.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        if command.trigger_price is None:
            raise ValueError(f"order {command.client_order_id}: a stop needs a trigger price")
        order.auxPrice = float(command.trigger_price)
    if command.time_in_force is TimeInForce.GTD:
        if command.expire_ns is None:
            raise ValueError(f"order {command.client_order_id}: GTD needs expire_ns")
        expiry = datetime.fromtimestamp(command.expire_ns // 1_000_000_000, UTC)
        order.goodTillDate = expiry.strftime("%Y%m%d-%H:%M:%S")  # IB reads this form as UTC
    return order


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
