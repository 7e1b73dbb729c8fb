"""Execution algorithms as actors: a parent order sliced into child orders (TWAP, VWAP)."""

from engine.algos.actor import AlgoOrderState, AlgoSnapshot, AlgoStatistics, ExecAlgorithmActor
from engine.algos.twap import twap_slice_count, twap_target
from engine.algos.vwap import vwap_slice

__all__ = (
    "AlgoOrderState",
    "AlgoSnapshot",
    "AlgoStatistics",
    "ExecAlgorithmActor",
    "twap_slice_count",
    "twap_target",
    "vwap_slice",
)
