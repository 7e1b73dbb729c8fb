"""RSI mean reversion with a protective stop.

Buy when RSI falls below `oversold` while flat; once filled, rest a stop-market sell at
`stop_loss_fraction` below the entry price. Exit at market when RSI rises above
`overbought` (canceling the stop), or let the stop take the position out. The stop is
placed on the entry *fill*, not the signal, so it protects the quantity actually held.

Across a graceful daemon restart (`on_save`/`on_load`) it keeps its RSI and the orders it
tracks; if the stop canceled its protective stop (`cancel_open_orders_on_stop = true`),
`on_load` re-places it at the same trigger for the position still held, so a position is
never left without a stop.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from engine.domain.enums import OrderSide, OrderType
from engine.events.fills import OrderFilled, PositionClosed
from engine.events.market import Bar, BarType
from engine.indicators import RelativeStrengthIndex
from engine.strategy import Strategy, StrategyConfig

__all__ = ("RsiMeanReversion", "RsiMeanReversionConfig")

logger = logging.getLogger(__name__)


class RsiMeanReversionConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    timeframe: str = "1m"
    period: int = 14
    oversold: float = 30.0
    overbought: float = 70.0
    quantity: Decimal = Decimal(1)
    stop_loss_fraction: Decimal = Decimal("0.02")

    def __post_init__(self) -> None:
        # Checked at config load, so a bad file fails before anything runs.
        if self.period <= 0:
            raise ValueError(f"period {self.period}: must be > 0")
        if not 0 < self.oversold < self.overbought < 100:
            raise ValueError(
                f"oversold {self.oversold} / overbought {self.overbought}: "
                "need 0 < oversold < overbought < 100"
            )
        if not 0 < self.stop_loss_fraction < 1:
            raise ValueError(f"stop_loss_fraction {self.stop_loss_fraction}: must be in (0, 1)")
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity}: must be > 0")


class RsiMeanReversion(Strategy):
    """Buy oversold, sell overbought, never without a stop."""

    config_type = RsiMeanReversionConfig
    config: RsiMeanReversionConfig

    def on_start(self) -> None:
        config = self.config
        self.rsi = RelativeStrengthIndex(config.period)
        self.entry_order: str | None = None
        self.stop_order: str | None = None
        self.exit_order: str | None = None
        self.subscribe_bars(BarType(instrument_id=config.instrument_id, timeframe=config.timeframe))

    def on_save(self) -> dict[str, Any]:
        # The RSI's full running state (exact) and the orders this strategy tracks.
        return {"rsi": self.rsi.export_state(), "entry_order": self.entry_order,
                "stop_order": self.stop_order, "exit_order": self.exit_order}

    def on_load(self, state: dict[str, Any]) -> None:
        # on_start has just made a fresh RSI from the config: continue it.
        self.rsi.import_state(state["rsi"])
        self.entry_order = state["entry_order"]
        self.stop_order = state["stop_order"]
        self.exit_order = state["exit_order"]
        self._replace_canceled_stop()

    def _replace_canceled_stop(self) -> None:
        """Re-place the protective stop the last graceful stop canceled, if still long."""
        stop = next((order for order in self.canceled_at_stop
                     if order.client_order_id == self.stop_order), None)
        if stop is None:
            return
        self.stop_order = None
        position = self.net_quantity(self.config.instrument_id)
        if (position <= 0 or stop.trigger_price is None
                or stop.order_type is not OrderType.STOP_MARKET):
            return  # flat now (or not a stop of ours): nothing to protect
        self.stop_order = self.stop_market_order(
            self.config.instrument_id, OrderSide.SELL, position, stop.trigger_price,
            reduce_only=True,
        )
        logger.warning("strategy %s: re-placed the protective stop %s (canceled by the last "
                       "stop) as %s: sell %s at %s", self.id, stop.client_order_id,
                       self.stop_order, position, stop.trigger_price)

    def on_bar(self, bar: Bar) -> None:
        rsi = self.rsi
        rsi.update(bar.close)
        if not rsi.initialized:
            return
        instrument_id = self.config.instrument_id
        position = self.net_quantity(instrument_id)
        if position == 0 and self.entry_order is None and rsi.value < self.config.oversold:
            self.entry_order = self.market_order(instrument_id, OrderSide.BUY,
                                                 self.config.quantity)
        elif position > 0 and self.exit_order is None and rsi.value > self.config.overbought:
            if self.stop_order is not None:
                self.cancel_order(self.stop_order)
                self.stop_order = None
            self.exit_order = self.close_position(instrument_id)

    def on_order_filled(self, fill: OrderFilled) -> None:
        if fill.client_order_id == self.entry_order:
            order = self.orders.order(fill.client_order_id)
            if order is not None and order.leaves_quantity == 0:
                self.entry_order = None
                # Below the average entry: an entry filled in parts has several prices.
                entry_price = order.average_fill_price or fill.last_price
                stop = entry_price * (1 - self.config.stop_loss_fraction)
                self.stop_order = self.stop_market_order(
                    self.config.instrument_id, OrderSide.SELL, order.filled_quantity, stop,
                    reduce_only=True,
                )

    def on_position_closed(self, event: PositionClosed) -> None:
        if self.stop_order is not None:
            order = self.orders.order(self.stop_order)
            if order is not None and order.is_open:
                self.cancel_order(self.stop_order)
        self.stop_order = None
        self.exit_order = None
