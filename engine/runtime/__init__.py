"""The live runtime: the inbox, the runner and crash recovery, for paper and live modes."""

from engine.runtime.execution import (
    BridgeStatistics,
    ExecutionBridge,
    SendGate,
    venue_event_endpoint,
)
from engine.runtime.inbox import (
    Inbox,
    InboxEntry,
    InboxStatistics,
    LaneStatistics,
    OverflowPolicy,
)
from engine.runtime.outbound import DurableOutbox, JournalBarrier, OutboxStatistics
from engine.runtime.reconciliation import (
    ReconciliationPlan,
    VenueState,
    fetch_venue_state,
    plan_reconciliation,
    reconcile,
)
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
    "BridgeStatistics",
    "DurableOutbox",
    "ExecutionBridge",
    "ReconciliationPlan",
    "SendGate",
    "VenueState",
    "fetch_venue_state",
    "plan_reconciliation",
    "reconcile",
    "venue_event_endpoint",
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
