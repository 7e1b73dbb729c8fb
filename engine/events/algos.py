"""Execution algorithms (TWAP, VWAP): the commands that start and stop a parent order,
and its progress.

A strategy sends `SubmitAlgoOrder` to the execution algorithm actor (`algos.execute`),
which slices the parent into child orders sent through risk like any order; each child's
record carries the parent's id (`parent_order_id`, `order_list_id`). The parent's news
is published on `events.algo.<strategy_id>`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from engine.domain.enums import OrderSide
from engine.events.base import Command, Event

__all__ = (
    "AlgoChildSent",
    "AlgoOrderClosed",
    "AlgoOrderEvent",
    "CancelAlgoOrder",
    "SubmitAlgoOrder",
    "TwapParameters",
    "VwapParameters",
)


class TwapParameters(msgspec.Struct, frozen=True, kw_only=True, tag="twap",
                     tag_field="algorithm"):
    """Slice evenly in time: a child now and one every `interval_ns`, ceil(horizon /
    interval) in all, the last one completing the parent at most `horizon_ns` later."""

    horizon_ns: int
    interval_ns: int

    def __post_init__(self) -> None:
        if self.interval_ns <= 0 or self.horizon_ns < self.interval_ns:
            raise ValueError(f"twap interval_ns {self.interval_ns}, horizon_ns "
                             f"{self.horizon_ns}: need 0 < interval_ns <= horizon_ns")


class VwapParameters(msgspec.Struct, frozen=True, kw_only=True, tag="vwap",
                     tag_field="algorithm"):
    """Follow the market's volume: after each `timeframe` bar of the instrument, a child
    of `participation` x that bar's volume; what is left when `horizon_ns` ends goes as
    one last child."""

    horizon_ns: int
    participation: Decimal
    timeframe: str = "1m"

    def __post_init__(self) -> None:
        if not 0 < self.participation <= 1:
            raise ValueError(f"vwap participation {self.participation}: must be > 0 and <= 1")
        if self.horizon_ns <= 0:
            raise ValueError(f"vwap horizon_ns {self.horizon_ns}: must be > 0")


class SubmitAlgoOrder(
    Command, frozen=True, kw_only=True, gc=False, tag="command.submit_algo_order"
):
    """Execute `quantity` by an algorithm; children are market orders, or limits at
    `limit_price` when it is given."""

    strategy_id: str
    parent_order_id: str
    instrument_id: str
    side: OrderSide
    quantity: Decimal
    parameters: TwapParameters | VwapParameters
    limit_price: Decimal | None = None


class CancelAlgoOrder(
    Command, frozen=True, kw_only=True, gc=False, tag="command.cancel_algo_order"
):
    """Stop slicing and cancel the parent's open children."""

    strategy_id: str
    parent_order_id: str


class AlgoOrderEvent(Event, frozen=True, kw_only=True, gc=False):
    """News of one execution algorithm's parent order, for the strategy that placed it."""

    strategy_id: str
    parent_order_id: str


class AlgoChildSent(AlgoOrderEvent, frozen=True, kw_only=True, gc=False,
                    tag="algo.child_sent"):
    """A child order left for risk: its size, and the parent's progress at that moment."""

    client_order_id: str
    quantity: Decimal
    sent_quantity: Decimal
    """What the children sent so far ask for in all, this one included."""
    filled_quantity: Decimal


class AlgoOrderClosed(AlgoOrderEvent, frozen=True, kw_only=True, gc=False,
                      tag="algo.closed"):
    """The parent is done: slicing ended and every child is closed."""

    quantity: Decimal
    filled_quantity: Decimal
    reason: str
