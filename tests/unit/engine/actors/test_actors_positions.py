"""Netting position arithmetic: open, add, reduce, close, flip, short side, fees, reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.actors.positions import (
    PositionChange,
    PositionState,
    PositionStep,
    apply_fill,
    closed_trade,
    position_event,
    snapshot,
)
from engine.domain.enums import OrderSide, PositionSide
from engine.events.fills import PositionChanged, PositionClosed, PositionOpened

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def fill(
    state: PositionState | None, side: OrderSide, quantity: str, price: str, fee: str = "0",
    ts_ns: int = 1,
) -> tuple[PositionState | None, tuple[PositionStep, ...]]:
    return apply_fill(
        state, strategy_id="s1", instrument_id="BTC/USDT.SIM", side=side, quantity=D(quantity),
        price=D(price), fee=D(fee), ts_ns=ts_ns,
    )


def test_apply_fill_from_flat_opens_long_at_fill_price() -> None:
    state, steps = fill(None, BUY, "2", "100", "0.2", ts_ns=5)
    assert state is not None
    assert [step.change for step in steps] == [PositionChange.OPENED]
    assert (state.side, state.quantity, state.average_entry_price) == (PositionSide.LONG, 2, 100)
    assert (state.fees, state.realized_pnl, state.opened_ns) == (D("0.2"), 0, 5)


def test_apply_fill_same_direction_weights_average_entry() -> None:
    state, _ = fill(None, BUY, "1", "100")
    state, steps = fill(state, BUY, "3", "104", ts_ns=2)
    assert state is not None
    assert steps[0].change is PositionChange.CHANGED
    assert state.quantity == 4
    assert state.average_entry_price == D("103")
    assert state.peak_quantity == 4
    assert state.opened_ns == 1


def test_apply_fill_partial_reduce_realizes_against_average() -> None:
    state, _ = fill(None, BUY, "2", "100")
    state, steps = fill(state, SELL, "0.5", "110")
    assert state is not None
    assert steps[0].change is PositionChange.CHANGED
    assert state.quantity == D("1.5")
    assert state.realized_pnl == D("5.0")
    assert state.average_entry_price == 100  # a reduction leaves the average alone


def test_apply_fill_full_reduce_closes_to_none() -> None:
    state, _ = fill(None, BUY, "2", "100", "0.1")
    state, steps = fill(state, SELL, "2", "90", "0.1")
    assert state is None
    (step,) = steps
    assert step.change is PositionChange.CLOSED
    assert step.position_side is PositionSide.LONG
    assert (step.state.quantity, step.state.realized_pnl, step.state.fees) == (0, -20, D("0.2"))
    assert step.state.average_exit_price == 90


def test_apply_fill_short_side_profits_when_price_falls() -> None:
    state, _ = fill(None, SELL, "3", "100")
    assert state is not None and state.side is PositionSide.SHORT and state.quantity == -3
    state, _ = fill(state, SELL, "1", "120")
    assert state is not None and state.average_entry_price == 105
    state, _ = fill(state, BUY, "2", "95")
    assert state is not None
    assert state.quantity == -2
    assert state.realized_pnl == 20  # (95 - 105) x 2 x -1
    assert snapshot(state).unrealized_pnl(D("100")) == 10


def test_apply_fill_flip_closes_then_opens_remainder_at_fill_price() -> None:
    state, _ = fill(None, BUY, "1", "100", "1")
    state, steps = fill(state, SELL, "3", "110", "3", ts_ns=9)
    assert [step.change for step in steps] == [PositionChange.CLOSED, PositionChange.OPENED]
    closed, opened = steps
    assert (closed.state.realized_pnl, closed.state.fees, closed.fill_quantity) == (10, 2, 1)
    assert state is opened.state
    assert (state.quantity, state.average_entry_price, state.fees) == (-2, 110, 2)
    assert (state.realized_pnl, state.opened_ns, opened.fill_quantity) == (0, 9, 2)


def test_apply_fill_flip_fee_split_loses_nothing_to_rounding() -> None:
    state, _ = fill(None, BUY, "1", "100")
    _, (closed, opened) = fill(state, SELL, "3", "100", "1")
    assert closed.state.fees + opened.state.fees == 1
    assert closed.state.fees == D("0.3333333333")


def test_apply_fill_unrepresentable_share_keeps_cash_flow_exact() -> None:
    state, _ = fill(None, BUY, "1", "100")
    state, _ = fill(state, BUY, "2", "100.01")
    state, _ = fill(state, SELL, "1", "100")  # average 100.00666...: the share is rounded
    assert state is not None
    assert state.realized_pnl == D("-0.0066666667")
    assert state.realized_pnl - state.cost_basis == 100 - D("300.02")  # the fills' cash flow


def test_apply_fill_round_trip_realized_is_exit_minus_entry_notional() -> None:
    state, _ = fill(None, BUY, "1", "100")
    state, _ = fill(state, SELL, "1", "130")
    state, _ = fill(state, BUY, "3", "107")
    state, _ = fill(state, SELL, "0.7", "101")
    state, steps = fill(state, SELL, "2.3", "103")
    assert state is None
    closed = steps[0].state
    assert closed.realized_pnl == D("101") * D("0.7") + D("103") * D("2.3") - 3 * D("107")


def test_apply_fill_non_positive_quantity_raises() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        fill(None, BUY, "0", "100")


def test_position_event_matches_step_kind() -> None:
    state, opened = fill(None, BUY, "1", "100")
    state, changed = fill(state, BUY, "1", "102")
    _, closed = fill(state, SELL, "2", "105")
    kinds = [type(position_event(steps[0], ts_event=1, ts_init=2))
             for steps in (opened, changed, closed)]
    assert kinds == [PositionOpened, PositionChanged, PositionClosed]
    event = position_event(closed[0], ts_event=7, ts_init=8)
    assert isinstance(event, PositionClosed)
    assert (event.side, event.quantity, event.realized_pnl) == (PositionSide.FLAT, 0, 8)
    assert (event.average_entry_price, event.average_exit_price, event.peak_quantity) == (
        101, 105, 2)
    assert (event.closed_ns, event.last_fill_quantity, event.last_fill_price) == (7, 2, 105)


def test_closed_trade_reports_round_trip() -> None:
    state, _ = fill(None, SELL, "1", "100", "0.1", ts_ns=10)
    _, (step,) = fill(state, BUY, "1", "90", "0.1", ts_ns=20)
    trade = closed_trade(step, closed_ns=20)
    assert (trade.side, trade.opened_ns, trade.closed_ns, trade.quantity) == ("short", 10, 20, 1)
    assert (trade.realized_pnl, trade.fees, trade.net_pnl) == (10, D("0.2"), D("9.8"))


def test_closed_trade_of_open_step_raises() -> None:
    _, (step,) = fill(None, BUY, "1", "100")
    with pytest.raises(ValueError, match="only a closed position"):
        closed_trade(step, closed_ns=1)
