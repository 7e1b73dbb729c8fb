"""SMA(fast)/SMA(slow) cross, long-only: the canonical benchmark strategy.

Rules (../shared/bench/README.md): on the bar where fast − slow turns positive after its
last non-zero sign was negative, buy `quantity` at market if flat; on the mirror cross,
sell the whole position if long. |fast − slow| <= `tolerance` counts as a tie and keeps
the last sign: prices have two decimals, so exact ties happen and float sums would
otherwise turn them into noise of either sign.

No signal is acted on while an order of this strategy is still open. In a backtest an
order fills at the next bar's open, before the strategy sees that bar, so this never
changes a backtest; live or in paper mode it keeps a late fill from stacking a second
order (a second sell would leave it short).

Across a graceful daemon restart it keeps its averages and cross (`on_save`/`on_load`),
so it does not warm up again. It holds no resting orders: a market order the stop
canceled is not re-placed, because the signal it acted on is stale by the restart; the
next cross decides.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain.enums import OrderSide
from engine.events.market import Bar, BarType
from engine.indicators import CrossOver, SimpleMovingAverage
from engine.strategy import Strategy, StrategyConfig

__all__ = ("SmaCross", "SmaCrossConfig")


class SmaCrossConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    timeframe: str = "1m"
    fast_period: int = 10
    slow_period: int = 30
    quantity: Decimal = Decimal(1)
    tolerance: float = 1e-6

    def __post_init__(self) -> None:
        # Checked at config load, so a bad file fails before anything runs.
        if not 0 < self.fast_period < self.slow_period:
            raise ValueError(
                f"fast_period {self.fast_period}: must be > 0 and < slow_period "
                f"{self.slow_period}"
            )
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity}: must be > 0")
        if self.tolerance < 0:
            raise ValueError(f"tolerance {self.tolerance}: must be >= 0")


class SmaCross(Strategy):
    """Go long on a golden cross, flat on a death cross."""

    config_type = SmaCrossConfig
    config: SmaCrossConfig

    def on_start(self) -> None:
        config = self.config
        self.fast = SimpleMovingAverage(config.fast_period)
        self.slow = SimpleMovingAverage(config.slow_period)
        self.cross = CrossOver(tolerance=config.tolerance)
        self.subscribe_bars(BarType(instrument_id=config.instrument_id, timeframe=config.timeframe))

    def on_save(self) -> dict[str, Any]:
        # The indicators' full running state (windows, sums, the last cross sign), exact:
        # restored, they go on as if the session had never stopped.
        return {"fast": self.fast.export_state(), "slow": self.slow.export_state(),
                "cross": self.cross.export_state()}

    def on_load(self, state: dict[str, Any]) -> None:
        # on_start has just made fresh indicators from the config: continue them.
        self.fast.import_state(state["fast"])
        self.slow.import_state(state["slow"])
        self.cross.import_state(state["cross"])

    def on_bar(self, bar: Bar) -> None:
        fast = self.fast
        slow = self.slow
        close = bar.close
        fast.update(close)
        slow.update(close)
        if not slow.initialized:
            return
        cross = self.cross
        cross.update(fast.value, slow.value)
        if not (cross.crossed_above or cross.crossed_below):
            return
        instrument_id = self.config.instrument_id
        if self.open_orders(instrument_id):
            return  # the last order has not filled yet (live lag): never stack a second
        position = self.net_quantity(instrument_id)
        if cross.crossed_above and position == 0:
            self.market_order(instrument_id, OrderSide.BUY, self.config.quantity)
        elif cross.crossed_below and position > 0:
            self.market_order(instrument_id, OrderSide.SELL, position)
