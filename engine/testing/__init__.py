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
from engine.testing.order_ids import order_key, session_prefixes
from engine.testing.scripted_venue import ScriptedExecutionClient, ScriptedStatistics

__all__ = (
    "BAR_TYPE",
    "INSTRUMENT_ID",
    "STARTING_BALANCES",
    "ScriptAction",
    "ScriptedExecutionClient",
    "ScriptedStatistics",
    "ScriptedStrategy",
    "make_bar",
    "make_bars",
    "make_graph",
    "make_instrument",
    "make_portfolio_config",
    "order_key",
    "session_prefixes",
    "EXECUTION_CHECKS",
    "ConformanceError",
    "EventRecorder",
    "ExecutionCheck",
    "ExecutionHarness",
    "check_name",
)
