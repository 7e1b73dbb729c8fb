"""The live runtime: the trading node, its bindings, the inbox, the runner and crash recovery."""

from engine.runtime.bindings import (
    AdapterTask,
    BridgedVenueBinding,
    Deliver,
    FeedBinding,
    FeedClock,
    RecordingSink,
    SessionRecorder,
    VenueBinding,
    first_event_time,
)
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
from engine.runtime.instance_lock import LOCK_FILE, InstanceHolder, InstanceLock, read_holder
from engine.runtime.journal_audit import JournalAudit, JournalAuditStatus
from engine.runtime.node import GraphFactory, NodeConfig, NodeHealth, TradingNode
from engine.runtime.outbound import DurableOutbox, JournalBarrier, OutboxStatistics
from engine.runtime.reconciliation import (
    ReconciliationPlan,
    ReconciliationReport,
    VenueState,
    fetch_venue_state,
    plan_reconciliation,
    reconcile,
)
from engine.runtime.recovery import (
    PoisonInput,
    RecoveryReport,
    Replay,
    replay_inputs,
    replay_inputs_async,
)
from engine.runtime.runner import JournalPort, LiveRunner, RunnerState, RunnerStatistics
from engine.runtime.snapshots import (
    NodeSnapshot,
    NodeSnapshots,
    RestorePoint,
    SnapshotStatistics,
    snapshot_path,
)
from engine.runtime.statistics import (
    ActorStatistics,
    BusSummary,
    NodeStatistics,
    SupportsStatistics,
    node_statistics,
    topic_family,
)

__all__ = (
    "LOCK_FILE",
    "InstanceHolder",
    "InstanceLock",
    "JournalAudit",
    "JournalAuditStatus",
    "read_holder",
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
    "PoisonInput",
    "ReconciliationReport",
    "RecoveryReport",
    "Replay",
    "RunnerState",
    "RunnerStatistics",
    "replay_inputs",
    "replay_inputs_async",
    "NodeSnapshot",
    "NodeSnapshots",
    "RestorePoint",
    "SnapshotStatistics",
    "snapshot_path",
    "ActorStatistics",
    "BusSummary",
    "NodeStatistics",
    "SupportsStatistics",
    "node_statistics",
    "topic_family",
    # the trading node and its bindings
    "AdapterTask",
    "BridgedVenueBinding",
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
