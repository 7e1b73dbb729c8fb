"""What the backtest and daemon files share: instruments and strategies, built and checked.

Everything that would only fail mid-run (a zero increment, a strategy class that does
not import, params of the wrong type, an unknown instrument) is a ConfigError here,
naming the file and the field.
"""

from __future__ import annotations

from api.compose.settings import InstrumentConfig, StrategySpec
from engine.config import convert_config
from engine.errors import ConfigError
from engine.events.market import Instrument
from engine.strategy import Strategy, load_strategy_class

__all__ = ("build_instruments", "build_strategies")


def build_strategies(
    specs: list[StrategySpec], known: set[str], where: str
) -> list[Strategy]:
    """Import and configure each strategy; every mistake is a ConfigError naming the field."""
    strategies: list[Strategy] = []
    strategy_ids: set[str] = set()
    for index, spec in enumerate(specs):
        at = f"$.strategies[{index}]"
        if spec.id in strategy_ids:
            raise ConfigError(f"{at}.id", f"{spec.id!r} is already used by another strategy",
                              file=where)
        strategy_ids.add(spec.id)
        try:
            cls = load_strategy_class(spec.class_path)
        except ValueError as error:
            raise ConfigError(f"{at}.class", str(error), file=where) from error
        params = convert_config(spec.params, cls.config_type, file=where, path=f"{at}.params")
        traded = getattr(params, "instrument_id", None)
        if isinstance(traded, str) and traded not in known:
            raise ConfigError(f"{at}.params.instrument_id",
                              f"{traded!r} is not in [[instruments]]", file=where)
        try:
            strategies.append(cls(spec.id, params))
        except ValueError as error:
            raise ConfigError(f"{at}.id", str(error), file=where) from error
    return strategies


def build_instruments(specs: list[InstrumentConfig], where: str) -> list[Instrument]:
    """Build the instruments, refusing what would only fail mid-run (a zero increment)."""
    instruments: list[Instrument] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        at = f"$.instruments[{index}]"
        for name in ("price_increment", "size_increment"):
            increment = getattr(spec, name)
            if not (increment.is_finite() and increment > 0):
                raise ConfigError(f"{at}.{name}", f"{name} {increment}: must be > 0",
                                  file=where)
        try:
            instrument = spec.to_instrument()
        except ValueError as error:
            field = "symbol" if not spec.symbol else "venue"
            raise ConfigError(f"{at}.{field}", str(error), file=where) from error
        if instrument.instrument_id in seen:
            raise ConfigError(f"{at}.symbol",
                              f"{instrument.instrument_id!r} is listed twice", file=where)
        seen.add(instrument.instrument_id)
        instruments.append(instrument)
    return instruments
