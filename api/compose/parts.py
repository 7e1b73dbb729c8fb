"""What the backtest and daemon files share: instruments and strategies, built and checked.

Everything that would only fail mid-run (a zero increment, a strategy class that does
not import, params of the wrong type, an unknown instrument) is a ConfigError here,
naming the file and the field.
"""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

from api.compose.settings import InstrumentConfig, StrategySpec
from engine.actors.portfolio import PortfolioConfig
from engine.config import convert_config
from engine.domain.enums import InstrumentClass
from engine.errors import ConfigError
from engine.events.market import Instrument
from engine.strategy import Strategy, load_strategy_class

__all__ = ("build_instruments", "build_strategies", "check_portfolio")

MAX_MAKER_REBATE = Decimal("0.01")
"""A maker fee below -1 % is taken for a typo (real rebates are a few basis points)."""


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
        cls = _load_class(spec.class_path, f"{at}.class", where)
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


def _load_class(path: str, at: str, where: str) -> type[Strategy]:
    """Import a strategy class; whatever goes wrong is one ConfigError naming the module's
    file and line (a syntax error, a misspelled handler name, an exception at import)."""
    try:
        return load_strategy_class(path)
    except ValueError as error:
        raise ConfigError(at, str(error), file=where) from error
    except SyntaxError as error:
        place = f"{error.filename}:{error.lineno}" if error.filename else path
        raise ConfigError(at, f"strategy class {path!r}: {place}: syntax error: {error.msg}",
                          file=where) from error
    except TypeError as error:  # a handler name that names no event, at class creation
        raise ConfigError(at, f"strategy class {path!r}: {_module_file(path)}: {error}",
                          file=where) from error
    except Exception as error:
        raise ConfigError(at, f"strategy class {path!r}: importing {_module_file(path)} "
                          f"raised {type(error).__name__}: {error}", file=where) from error


def _module_file(path: str) -> str:
    """Where the module of `module:Class` is, for a message (its name if it is not found)."""
    module = path.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    return str(Path(spec.origin)) if spec is not None and spec.origin else module


def check_portfolio(
    portfolio: PortfolioConfig, instruments: list[Instrument], where: str
) -> None:
    """Refuse starting balances a run could only fail on, or quietly ignore, before it runs.

    A zero or negative balance gives no returns to measure; a currency no instrument
    uses is never traded or priced (the run would start with zero equity).
    """
    used = {i.base_currency for i in instruments} | {i.quote_currency for i in instruments}
    at = "$.portfolio.starting_balances"
    if not portfolio.starting_balances:
        raise ConfigError(at, "at least one starting balance is required", file=where)
    for currency, amount in portfolio.starting_balances.items():
        if not amount > 0:
            raise ConfigError(f"{at}.{currency}", f"{currency} {amount}: must be > 0",
                              file=where)
        if currency not in used:
            raise ConfigError(f"{at}.{currency}", f"{currency}: no instrument uses it "
                              f"(they use {', '.join(sorted(used))})", file=where)
    if portfolio.base_currency not in used:
        raise ConfigError("$.portfolio.base_currency", f"{portfolio.base_currency}: no "
                          f"instrument uses it (they use {', '.join(sorted(used))})",
                          file=where)


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
        _check_fees(spec, at, where)
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


def _check_fees(spec: InstrumentConfig, at: str, where: str) -> None:
    """Fees are fractions of the notional: a taker never earns one, and 1 is all of it."""
    taker, maker = spec.taker_fee, spec.maker_fee
    if not (taker.is_finite() and 0 <= taker < 1):
        raise ConfigError(f"{at}.taker_fee", f"taker_fee {taker}: must be >= 0 and < 1 "
                          "(a fraction of the notional: 0.001 is 0.1 %)", file=where)
    if not (maker.is_finite() and -MAX_MAKER_REBATE <= maker < 1):
        raise ConfigError(f"{at}.maker_fee", f"maker_fee {maker}: must be >= "
                          f"-{MAX_MAKER_REBATE} (a rebate) and < 1 (a fraction of the "
                          "notional: 0.001 is 0.1 %)", file=where)
    for name in ("min_quantity", "min_notional"):
        value = getattr(spec, name)
        if not (value.is_finite() and value >= 0):
            raise ConfigError(f"{at}.{name}", f"{name} {value}: must be >= 0", file=where)
    if not (spec.multiplier.is_finite() and spec.multiplier > 0):
        raise ConfigError(f"{at}.multiplier", f"multiplier {spec.multiplier}: must be > 0",
                          file=where)
    if spec.instrument_class is InstrumentClass.PERPETUAL and spec.multiplier != 1:
        raise ConfigError(f"{at}.multiplier", f"multiplier {spec.multiplier}: a perpetual's "
                          "must be 1 (linear, its quantity in base units)", file=where)
