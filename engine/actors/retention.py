"""Retention: how much closed history a long-running daemon keeps in memory.

A backtest keeps everything (its report is built from every fill, trade and order), so
actors keep everything unless `retain(policy)` is called; the daemon's composition root
calls it with `NodeConfig.retention`. History then lives in the journal, and memory is
bounded in time: what an actor holds is the open state (open orders, positions,
balances, always kept) plus a window of the recent closed history:

- the order manager keeps a closed order while it is among the `closed_orders` most
  recently closed, or closed less than `late_fill_horizon_s` of engine time ago, and
  with it the trade ids of its fills (so a duplicate fill is never booked twice);
- the portfolio keeps the last `fills` fills and the last `closed_trades` round trips,
  and an equity curve of at most `equity_points` points (halved when full: it keeps
  spanning the whole session, coarser the older);
- the simulated venue keeps the records of its last `closed_orders` closed orders that
  closed less than `late_fill_horizon_s` ago, and their fills.

Totals are never recomputed from these lists: fill counts, realized pnl, fees and
positions closed are running sums, exact whatever was evicted.

Eviction runs when an order closes (or a fill or sample is added), never on a timer,
and reads only engine time, so a live session, its recovery and a snapshot restored
and replayed evict the same records at the same inputs.

A fill for an order no longer held is ambiguous: it may repeat a fill of an evicted
order. The order manager keeps a watermark, the latest venue time (`ts_event`) of any
fill of an order it evicted; a fill (or an adoption) of an order it does not hold at
or before the watermark is refused as stale (counted in `stale_fills`, surfaced as an
`OrderTransitionRejected`), because every fill of an evicted order is at or before it.
So the same trade is never booked twice, however late its duplicate comes, provided a
venue reports a repeated trade with its original time (venues do: it is the trade's).
The price: a genuine fill older than the watermark of an order the engine never knew
(an external order found late) is refused too; the venue's account state, which
reconciliation brings, then corrects the balances. A genuine late fill of an evicted
order, with a venue time after the watermark, is booked under the strategy `external`
(its order is gone): it came after the horizon the venue was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Protocol, runtime_checkable

import msgspec

from engine.config import Config

__all__ = ("Retaining", "RetentionConfig", "apply_retention")


class RetentionConfig(Config, kw_only=True, frozen=True):
    """How much closed history a daemon keeps in memory (see the module docstring).

    Attributes:
        closed_orders: closed orders kept at least (the most recently closed).
        fills: fills kept (the most recent), for the API's recent fills.
        closed_trades: closed round trips kept (the most recent).
        equity_points: points of the equity curve kept (at least 2).
        late_fill_horizon_s: engine seconds a closed order is kept whatever the count,
            so a late or repeated fill of it still finds it (a live venue may send a
            fill a while after a cancel, and its REST backstop repeats fills).
    """

    closed_orders: Annotated[int, msgspec.Meta(gt=0)] = 10_000
    fills: Annotated[int, msgspec.Meta(gt=0)] = 10_000
    closed_trades: Annotated[int, msgspec.Meta(gt=0)] = 10_000
    equity_points: Annotated[int, msgspec.Meta(ge=2)] = 10_000
    late_fill_horizon_s: Annotated[float, msgspec.Meta(ge=0)] = 86_400.0

    @property
    def late_fill_horizon_ns(self) -> int:
        return int(self.late_fill_horizon_s * 1_000_000_000)


@runtime_checkable
class Retaining(Protocol):
    """An actor whose closed history a retention policy bounds."""

    def retain(self, policy: RetentionConfig) -> None:
        """Keep only what `policy` says from now on (call before the graph starts)."""
        ...


def apply_retention(actors: Iterable[object], policy: RetentionConfig) -> int:
    """Apply `policy` to every actor that keeps history; return how many took it."""
    applied = 0
    for actor in actors:
        if isinstance(actor, Retaining):
            actor.retain(policy)
            applied += 1
    return applied
