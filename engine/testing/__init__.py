"""Helpers shipped for tests, ours and users': instruments, bars, graphs, a scripted strategy,
and the conformance suite every execution client must pass (`engine.testing.conformance`)."""

from engine.testing.conformance import (
    EXECUTION_CHECKS,
    ConformanceError,
    EventRecorder,
    ExecutionCheck,
    ExecutionHarness,
    check_name,
)
from engine.testing.factories import (
    BAR_TYPE,
    INSTRUMENT_ID,
    STARTING_BALANCES,
    ScriptAction,
    ScriptedStrategy,
    make_bar,
    make_bars,
    make_graph,
    make_instrument,
    make_portfolio_config,
)

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
    "EXECUTION_CHECKS",
    "ConformanceError",
    "EventRecorder",
    "ExecutionCheck",
    "ExecutionHarness",
    "check_name",
)
