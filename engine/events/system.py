"""Events about the engine itself: timers, actor lifecycle, risk state, rejected input."""

from __future__ import annotations

from engine.domain.enums import TradingState
from engine.events.base import Command, Event

__all__ = (
    "SessionFailed",
    "SessionStarted",
    "SessionStopping",
    "StartStrategy",
    "StopStrategy",
    "ActorFaulted",
    "ActorStarted",
    "ActorStopped",
    "OrderTransitionRejected",
    "TimerFired",
    "TradingStateChanged",
)


class TimerFired(Event, frozen=True, kw_only=True, gc=False, tag="system.timer_fired"):
    """A timer or time alert reached its time; `ts_event` is that exact time."""

    name: str
    owner: str


class ActorStarted(Event, frozen=True, kw_only=True, gc=False, tag="system.actor_started"):
    actor_id: str


class ActorStopped(Event, frozen=True, kw_only=True, gc=False, tag="system.actor_stopped"):
    actor_id: str


class ActorFaulted(Event, frozen=True, kw_only=True, gc=False, tag="system.actor_faulted"):
    """A handler raised; the actor is stopped and the rest of the graph goes on."""

    actor_id: str
    error_type: str
    error: str
    message_kind: str


class TradingStateChanged(
    Event, frozen=True, kw_only=True, gc=False, tag="system.trading_state_changed"
):
    state: TradingState
    reason: str


class OrderTransitionRejected(
    Event, frozen=True, kw_only=True, gc=False, tag="system.order_transition_rejected"
):
    """An order event that does not fit the order's state: counted, surfaced, not applied."""

    client_order_id: str
    from_state: str
    event_kind: str


class SessionStarted(Event, frozen=True, kw_only=True, gc=False, tag="system.session_started"):
    """The daemon started a session (after recovering the earlier ones): a journal input.

    `order_id_epoch_ms` is the wall time the session's client order ids are prefixed
    with (`engine.domain.ids.session_order_prefix`), always later than any earlier
    session's, so ids never repeat across restarts; 0 keeps unprefixed ids.
    """

    session: int
    order_id_epoch_ms: int = 0


class SessionStopping(Event, frozen=True, kw_only=True, gc=False, tag="system.session_stopping"):
    """A graceful stop began: strategies stop next (a journal input, so replay repeats it)."""

    session: int
    cancel_open_orders: bool


class SessionFailed(Event, frozen=True, kw_only=True, gc=False, tag="system.session_failed"):
    """The session ended on a fatal error (not a stop, not a kill): journaled as the last
    record, not as an input, so `tradebus journal list` can say how the session ended."""

    session: int
    error_type: str
    error: str


class StartStrategy(Command, frozen=True, kw_only=True, gc=False, tag="command.start_strategy"):
    """Start one stopped strategy again (an operator's command, journaled as an input).

    Sent to `strategies.control`; the graph runs its `on_start` and hands it its state
    saved at the stop. A strategy that is running or faulted is left as it is.
    """

    strategy_id: str


class StopStrategy(Command, frozen=True, kw_only=True, gc=False, tag="command.stop_strategy"):
    """Stop one running strategy (an operator's command, journaled as an input).

    Sent to `strategies.control`; the graph cancels its open orders first when
    `cancel_open_orders`, then runs its `on_stop` and keeps what `on_save` returns.
    """

    strategy_id: str
    cancel_open_orders: bool = False
