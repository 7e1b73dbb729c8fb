"""The live runtime: the inbox, the runner and crash recovery, for paper and live modes."""

from engine.runtime.inbox import (
    Inbox,
    InboxEntry,
    InboxStatistics,
    LaneStatistics,
    OverflowPolicy,
)
from engine.runtime.outbound import DurableOutbox, JournalBarrier, OutboxStatistics
from engine.runtime.recovery import (
    ReconciliationReport,
    RecoveryReport,
    reconcile_open_orders,
    replay_inputs,
)
from engine.runtime.runner import JournalPort, LiveRunner, RunnerState, RunnerStatistics
from engine.runtime.statistics import (
    ActorStatistics,
    BusSummary,
    NodeStatistics,
    SupportsStatistics,
    node_statistics,
    topic_family,
)

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
    "ActorStatistics",
    "BusSummary",
    "NodeStatistics",
    "SupportsStatistics",
    "node_statistics",
    "topic_family",
)
