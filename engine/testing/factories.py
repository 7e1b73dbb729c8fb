"""Build instruments, bars, graphs and scripted strategies for tests, ours and users'.

Everything here is engine-only (the engine never imports an adapter): a test that needs
a venue builds `adapters.sim.SimVenue` itself, passing it `graph.instruments` and
`graph.cache`. Defaults describe one spot instrument, `BTC/USDT.SIM`, with the
increments and fees most tests want, so a test states only what it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeAlias

from engine.actors.portfolio import PortfolioConfig
from engine.actors.risk import RiskConfig
from engine.cache import MarketCache
from engine.clock import SimClock
from engine.events.base import Message
from engine.events.market import Bar, BarType, Instrument, timeframe_ns
from engine.graph import TradingGraph
from engine.strategy import Strategy

__all__ = (
    "BAR_TYPE",
    "INSTRUMENT_ID",
    "STARTING_BALANCES",
    "ScriptAction",
    "ScriptedStrategy",
    "make_bar",
    "make_bars",
    "make_graph",
    "make_instrument",
    "make_portfolio_config",
)

INSTRUMENT_ID: Final = "BTC/USDT.SIM"
"""The id of the default instrument of `make_instrument`."""
BAR_TYPE: Final = BarType(instrument_id=INSTRUMENT_ID, timeframe="1m")
"""One-minute bars of the default instrument: the default of `make_bar`."""
STARTING_BALANCES: Final[dict[str, Decimal]] = {"USDT": Decimal(100_000)}
"""The default account of `make_portfolio_config`: 100,000 USDT and nothing else."""


def make_instrument(**overrides: Any) -> Instrument:
    """Return BTC/USDT on venue SIM (0.01 price and 0.001 size steps, 0.1 % fees), overridden.

    Timestamps default to 0, so the graph stamps the instrument when it publishes it.
    """
    fields: dict[str, Any] = {
        "instrument_id": INSTRUMENT_ID,
        "symbol": "BTC/USDT",
        "venue": "SIM",
        "base_currency": "BTC",
        "quote_currency": "USDT",
        "price_increment": Decimal("0.01"),
        "size_increment": Decimal("0.001"),
        "min_quantity": Decimal("0.001"),
        "min_notional": Decimal(10),
        "maker_fee": Decimal("0.001"),
        "taker_fee": Decimal("0.001"),
        "ts_event": 0,
        "ts_init": 0,
    }
    fields.update(overrides)
    return Instrument(**fields)


def make_bar(
    close: float,
    *,
    ts_event: int,
    open: float | None = None,  # shadows the builtin: the OHLC field name reads best
    high: float | None = None,
    low: float | None = None,
    volume: float = 1.0,
    bar_type: BarType | None = None,
) -> Bar:
    """Return a bar closing at `ts_event` (also its `ts_init`).

    `open` defaults to `close`; `high` and `low` default to the bracket of open and
    close, so a bar built from closes alone is always consistent.
    """
    opening = close if open is None else open
    return Bar(
        bar_type=BAR_TYPE if bar_type is None else bar_type,
        open=opening,
        high=max(opening, close) if high is None else high,
        low=min(opening, close) if low is None else low,
        close=close,
        volume=volume,
        ts_event=ts_event,
        ts_init=ts_event,
    )


def make_bars(
    closes: list[float],
    *,
    start_ns: int,
    step: str = "1m",
    instrument_id: str = INSTRUMENT_ID,
    volume: float = 1.0,
) -> list[Bar]:
    """Return consecutive `step` bars with these closes, the first covering from `start_ns`.

    Bar i covers [start_ns + i·step, start_ns + (i + 1)·step) and, like every bar, is
    stamped with its close time, the end of that window. Each bar opens at the previous
    close (the first at its own close), and its high and low bracket open and close, so
    a path of closes is also a path of plausible, gap-free bars.
    """
    step_ns = timeframe_ns(step)
    bar_type = BarType(instrument_id=instrument_id, timeframe=step)
    bars: list[Bar] = []
    previous: float | None = None
    for index, close in enumerate(closes):
        bars.append(
            make_bar(
                close,
                ts_event=start_ns + (index + 1) * step_ns,
                open=previous,
                volume=volume,
                bar_type=bar_type,
            )
        )
        previous = close
    return bars


def make_portfolio_config(**overrides: Any) -> PortfolioConfig:
    """Return an account of 100,000 USDT in USDT, sampling equity daily, overridden."""
    fields: dict[str, Any] = {"starting_balances": dict(STARTING_BALANCES)}
    fields.update(overrides)
    return PortfolioConfig(**fields)


def make_graph(
    *,
    clock: SimClock | None = None,
    instruments: list[Instrument] | None = None,
    portfolio: PortfolioConfig | None = None,
    risk: RiskConfig | None = None,
    fail_fast: bool = False,
    cache: MarketCache | None = None,
) -> TradingGraph:
    """Return a graph on a `SimClock` with the default instrument, account and no limits.

    Add venues, sources and strategies to it, then drive it with a `ReplayDriver`
    (the graph's `clock` is the SimClock to give the driver).
    """
    return TradingGraph(
        clock=SimClock() if clock is None else clock,
        instruments=[make_instrument()] if instruments is None else instruments,
        portfolio=make_portfolio_config() if portfolio is None else portfolio,
        risk=RiskConfig() if risk is None else risk,
        fail_fast=fail_fast,
        cache=cache,
    )


ScriptAction: TypeAlias = Callable[["ScriptedStrategy", Bar], None]
"""What a `ScriptedStrategy` runs on a bar: called with the strategy and the bar."""


class ScriptedStrategy(Strategy):
    """Run `script[i]` on the i-th bar of `BAR_TYPE` and record every message it handles.

    A test writes what the strategy does as a dict of bar index to action, then asserts
    on `events(...)`: its own order and position events, in the order they arrived.
    """

    def __init__(
        self, strategy_id: str = "s1", script: dict[int, ScriptAction] | None = None
    ) -> None:
        super().__init__(strategy_id)
        self.script = script or {}
        self.seen: list[Message] = []
        self.bar_count = 0

    def on_start(self) -> None:
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar: Bar) -> None:
        action = self.script.get(self.bar_count)
        self.bar_count += 1
        if action is not None:
            action(self, bar)

    def on_event(self, message: Message) -> None:
        self.seen.append(message)

    def events(self, *types: type[Message]) -> list[Any]:
        """Return the handled messages of any of `types`, in handling order."""
        return [message for message in self.seen if isinstance(message, types)]
