"""Closed trades (round trips) and the statistics of a list of them.

Money stays in :class:`~decimal.Decimal` through every sum here, so totals are exact; it
becomes float only in the finished :class:`TradeStatistics`, for display and ratios.

A trade *wins* when its net pnl (gross realized pnl minus fees) is above zero, *loses* when
it is below zero, and is *breakeven* at exactly zero. Fees count because a trade that made
less than it paid in fees lost money. Loss amounts are reported signed (negative), so
``gross_profit + gross_loss`` is the total net pnl of all trades.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec

NANOSECONDS_PER_HOUR = 3_600 * 1_000_000_000

TRADE_SIDES = ("long", "short")


class ClosedTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One round trip: a position opened from flat and closed back to flat.

    ``quantity`` is the largest absolute position size during the trade (positive);
    ``realized_pnl`` is gross, before ``fees``; ``fees`` may be negative (maker rebates).
    Construction (and msgspec decoding) raises ValueError on impossible values.
    """

    instrument_id: str
    side: str
    opened_ns: int
    closed_ns: int
    quantity: Decimal
    average_entry_price: Decimal
    average_exit_price: Decimal
    realized_pnl: Decimal
    fees: Decimal

    def __post_init__(self) -> None:
        # One combined test first: a trade is made per round trip of a backtest, and a
        # sound one (the only kind the portfolio makes) should not pay for each message.
        entry, exit_ = self.average_entry_price, self.average_exit_price
        if (
            self.side in TRADE_SIDES
            and self.closed_ns >= self.opened_ns
            and type(self.realized_pnl) is Decimal
            and self.realized_pnl.is_finite()
            and type(self.fees) is Decimal
            and self.fees.is_finite()
            and type(self.quantity) is Decimal
            and self.quantity.is_finite()
            and self.quantity > 0
            and type(entry) is Decimal
            and entry.is_finite()
            and entry > 0
            and type(exit_) is Decimal
            and exit_.is_finite()
            and exit_ > 0
        ):
            return
        if self.side not in TRADE_SIDES:
            raise ValueError(f"side {self.side!r}: must be 'long' or 'short'")
        if self.closed_ns < self.opened_ns:
            raise ValueError(
                f"closed_ns {self.closed_ns}: must not precede opened_ns {self.opened_ns}"
            )
        _check_decimal("quantity", self.quantity)
        _check_decimal("average_entry_price", self.average_entry_price)
        _check_decimal("average_exit_price", self.average_exit_price)
        _check_decimal("realized_pnl", self.realized_pnl)
        _check_decimal("fees", self.fees)
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity}: a closed trade held a position")
        if self.average_entry_price <= 0 or self.average_exit_price <= 0:
            raise ValueError(
                f"average prices {self.average_entry_price}/{self.average_exit_price}: "
                "must be positive"
            )

    @property
    def net_pnl(self) -> Decimal:
        """Realized pnl after fees: ``realized_pnl - fees``."""
        return self.realized_pnl - self.fees

    @property
    def duration_ns(self) -> int:
        """Holding time, ``closed_ns - opened_ns``."""
        return self.closed_ns - self.opened_ns


def _check_decimal(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} {value!r}: must be a finite Decimal")


class TradeStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Statistics over closed trades; ``None`` where the definition divides by zero.

    * ``win_rate`` = winning_trades / trade_count (None without trades).
    * ``gross_profit`` = sum of winning net pnl (>= 0); ``gross_loss`` = sum of losing net
      pnl (<= 0); ``profit_factor`` = gross_profit / -gross_loss (None without losers).
    * ``average_win`` / ``average_loss`` = mean net pnl of winners / losers (the latter
      negative); ``largest_win`` = max winning net pnl; ``largest_loss`` = min losing net
      pnl (the most negative). None when there is no such trade.
    * ``payoff_ratio`` = average_win / -average_loss (None without winners or losers).
    * ``expectancy`` = mean net pnl over all trades, breakeven included (None without trades).
    * ``average_trade_duration_hours`` = mean of ``closed_ns - opened_ns`` in hours.
    * ``max_consecutive_wins`` / ``max_consecutive_losses`` = longest run of winners /
      losers with trades ordered by ``closed_ns`` (input order on ties); a breakeven trade
      ends both runs.
    """

    trade_count: int
    winning_trades: int
    losing_trades: int
    breakeven_trades: int
    win_rate: float | None
    gross_profit: float
    gross_loss: float
    profit_factor: float | None
    average_win: float | None
    average_loss: float | None
    largest_win: float | None
    largest_loss: float | None
    expectancy: float | None
    payoff_ratio: float | None
    average_trade_duration_hours: float | None
    max_consecutive_wins: int
    max_consecutive_losses: int


def _float_or_none(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _mean_or_none(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def longest_runs(outcomes: Sequence[int]) -> tuple[int, int]:
    """Longest runs of ``+1`` and of ``-1`` in a sequence of trade outcomes (signs of net pnl).

    A 0 (breakeven) belongs to neither run and ends both.
    """
    longest_win = longest_loss = current = 0
    previous = 0
    for outcome in outcomes:
        current = current + 1 if outcome == previous and outcome != 0 else 1
        previous = outcome
        if outcome > 0:
            longest_win = max(longest_win, current)
        elif outcome < 0:
            longest_loss = max(longest_loss, current)
    return longest_win, longest_loss


def trade_statistics(trades: Sequence[ClosedTrade]) -> TradeStatistics:
    """Compute :class:`TradeStatistics`; an empty list gives zero counts and ``None`` ratios."""
    ordered = sorted(trades, key=lambda trade: trade.closed_ns)
    pnls = [trade.net_pnl for trade in ordered]
    wins = [pnl for pnl in pnls if pnl > 0]
    losses = [pnl for pnl in pnls if pnl < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = sum(losses, Decimal(0))
    average_win = _mean_or_none(wins)
    average_loss = _mean_or_none(losses)
    payoff = None
    if average_win is not None and average_loss is not None:
        payoff = average_win / -average_loss
    longest_win, longest_loss = longest_runs([(pnl > 0) - (pnl < 0) for pnl in pnls])
    durations = [trade.duration_ns for trade in ordered]
    return TradeStatistics(
        trade_count=len(pnls),
        winning_trades=len(wins),
        losing_trades=len(losses),
        breakeven_trades=len(pnls) - len(wins) - len(losses),
        win_rate=len(wins) / len(pnls) if pnls else None,
        gross_profit=float(gross_profit),
        gross_loss=float(gross_loss),
        profit_factor=float(gross_profit / -gross_loss) if losses else None,
        average_win=_float_or_none(average_win),
        average_loss=_float_or_none(average_loss),
        largest_win=float(max(wins)) if wins else None,
        largest_loss=float(min(losses)) if losses else None,
        expectancy=_float_or_none(_mean_or_none(pnls)),
        payoff_ratio=_float_or_none(payoff),
        average_trade_duration_hours=(
            math.fsum(durations) / len(durations) / NANOSECONDS_PER_HOUR if durations else None
        ),
        max_consecutive_wins=longest_win,
        max_consecutive_losses=longest_loss,
    )


def time_in_market_ns(trades: Sequence[ClosedTrade], start_ns: int, end_ns: int) -> int:
    """Nanoseconds within ``[start_ns, end_ns]`` covered by at least one open trade.

    The union of the trades' ``[opened_ns, closed_ns]`` intervals clipped to the window, so
    two trades open at the same time (different instruments) count that time once and the
    result never exceeds the window. Without overlaps it is the sum of trade durations.
    """
    if end_ns < start_ns:
        raise ValueError(f"end_ns {end_ns}: must not precede start_ns {start_ns}")
    clipped = sorted(
        (max(trade.opened_ns, start_ns), min(trade.closed_ns, end_ns))
        for trade in trades
        if trade.closed_ns > start_ns and trade.opened_ns < end_ns
    )
    covered = 0
    cursor = start_ns
    for opened, closed in clipped:
        opened = max(opened, cursor)
        if closed > opened:
            covered += closed - opened
            cursor = closed
    return covered
