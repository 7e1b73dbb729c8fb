"""The live runtime: the trading node, its bindings, the inbox, the runner and crash recovery."""

from engine.runtime.bindings import (
    AdapterTask,
    Deliver,
    FeedBinding,
    FeedClock,
    RecordingSink,
    SessionRecorder,
    VenueBinding,
    first_event_time,
)
from engine.runtime.inbox import (
    Inbox,
    InboxEntry,
    InboxStatistics,
    LaneStatistics,
    OverflowPolicy,
)
from engine.runtime.node import GraphFactory, NodeConfig, NodeHealth, TradingNode
from engine.runtime.outbound import DurableOutbox, JournalBarrier, OutboxStatistics
from engine.runtime.recovery import (
    ReconciliationReport,
    RecoveryReport,
    reconcile_open_orders,
    replay_inputs,
)
from engine.runtime.runner import JournalPort, LiveRunner, RunnerState, RunnerStatistics

__all__ = (
    "DurableOutbox",
    "Inbox",
    "InboxEntry",
    "InboxStatistics",
    "JournalBarrier",
    "JournalPort",
    "LaneStatistics",
    "LiveRunner",
    "OutboxStatistics",
    "OverflowPolicy",
    "ReconciliationReport",
    "RecoveryReport",
    "RunnerState",
    "RunnerStatistics",
    "reconcile_open_orders",
    "replay_inputs",
    # the trading node and its bindings
    "AdapterTask",
    "Deliver",
    "FeedBinding",
    "FeedClock",
    "GraphFactory",
    "NodeConfig",
    "NodeHealth",
    "RecordingSink",
    "SessionRecorder",
    "TradingNode",
    "VenueBinding",
    "first_event_time",
)
