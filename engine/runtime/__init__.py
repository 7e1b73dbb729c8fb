"""The live runtime: the inbox, the runner and crash recovery, for paper and live modes."""

from engine.runtime.inbox import (
    Inbox,
    InboxEntry,
    InboxStatistics,
    LaneStatistics,
    OverflowPolicy,
)
from engine.runtime.recovery import RecoveryReport, replay_inputs
from engine.runtime.runner import JournalPort, LiveRunner, RunnerState, RunnerStatistics

__all__ = (
    "Inbox",
    "InboxEntry",
    "InboxStatistics",
    "JournalPort",
    "LaneStatistics",
    "LiveRunner",
    "OverflowPolicy",
    "RecoveryReport",
    "RunnerState",
    "RunnerStatistics",
    "replay_inputs",
)
