"""CcxtInstrumentProvider: the instrument-provider port over ccxt's `load_markets`.

Increments come from the market's precision (Binance: PRICE_FILTER tickSize and
LOT_SIZE stepSize), minimums from its limits (LOT_SIZE minQty, NOTIONAL minNotional),
fees from ccxt's fee table for the market, so a live config need not repeat them.
"""

from __future__ import annotations

from adapters.ccxt.config import CcxtConfig
from adapters.ccxt.exchange import TradebusBinance
from adapters.ccxt.parsing import instrument
from engine.events.market import Instrument

__all__ = ("CcxtInstrumentProvider",)


class CcxtInstrumentProvider:
    """Instruments of the config's symbols (all spot markets when it names none).

    The exchange object is borrowed: the caller closes it.
    """

    def __init__(self, config: CcxtConfig, exchange: TradebusBinance) -> None:
        self._config = config
        self._exchange = exchange

    async def load(self, instrument_ids: list[str] | None = None) -> list[Instrument]:
        """The venue's instruments, sorted by id (only `instrument_ids` when given).

        Raises:
            ValueError: an id in `instrument_ids` is not a market of the exchange.
        """
        markets = await self._exchange.load_markets()
        wanted = set(self._config.symbols)
        loaded = {
            item.instrument_id: item
            for item in (instrument(markets[symbol], self._config.venue)
                         for symbol in sorted(markets) if not wanted or symbol in wanted)
        }
        if instrument_ids is None:
            return [loaded[key] for key in sorted(loaded)]
        missing = [key for key in instrument_ids if key not in loaded]
        if missing:
            raise ValueError(f"instrument_ids {missing}: not markets of venue "
                             f"{self._config.venue} (loaded: {sorted(loaded)})")
        return [loaded[key] for key in instrument_ids]
