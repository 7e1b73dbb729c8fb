"""A strategy that trades on the first trade ticks it sees (the live e2e tests' daemon
imports it from tests/e2e): buy at market, then rest a sell of what it holds at
`exit_price`, then nothing more.

Every decision is a function of the ticks and the order events it was handed, so a
restart (recovery replays the journal) makes it again and sends nothing twice, and a
backtest of the session's recording makes the same ones.
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain.enums import OrderSide
from engine.events.market import TradeTick
from engine.strategy import Strategy, StrategyConfig

__all__ = ("BuyThenRestSell", "BuyThenRestSellConfig")


class BuyThenRestSellConfig(StrategyConfig, kw_only=True, frozen=True):
    instrument_id: str
    quantity: Decimal
    exit_price: Decimal


class BuyThenRestSell(Strategy):
    """Buy `quantity` on the first tick; once filled, rest a sell of it at `exit_price`."""

    config_type = BuyThenRestSellConfig
    config: BuyThenRestSellConfig

    def on_start(self) -> None:
        self.bought = False
        self.offered = False
        self.subscribe_trade_ticks(self.config.instrument_id)

    def on_trade_tick(self, tick: TradeTick) -> None:
        instrument_id = self.config.instrument_id
        if self.open_orders(instrument_id):
            return  # never stack a second order on one not settled yet
        held = self.net_quantity(instrument_id)
        if not self.bought:
            self.bought = True
            self.market_order(instrument_id, OrderSide.BUY, self.config.quantity)
        elif held > 0 and not self.offered:
            self.offered = True
            self.limit_order(instrument_id, OrderSide.SELL, held, self.config.exit_price)
