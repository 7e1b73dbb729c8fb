"""Strategies shipped with tradebus. Yours can live in any importable module.

A config names a strategy as `module:Class`, e.g. `strategies.sma_cross:SmaCross`.
"""

from strategies.market_maker import MarketMaker, MarketMakerConfig
from strategies.rsi_reversion import RsiMeanReversion, RsiMeanReversionConfig
from strategies.sma_cross import SmaCross, SmaCrossConfig

__all__ = (
    "MarketMaker",
    "MarketMakerConfig",
    "RsiMeanReversion",
    "RsiMeanReversionConfig",
    "SmaCross",
    "SmaCrossConfig",
)
