"""Wire tags are part of the journal format: a changed, added or removed tag fails here.

If you add a message type on purpose, add its tag to GOLDEN_TAGS; never change an
existing one (stored journals would stop decoding).
"""

from __future__ import annotations

import msgspec
import pytest

from engine.events.base import Command, Event, Message
from engine.events.codec import MESSAGE_TYPES

GOLDEN_TAGS: tuple[tuple[str, str], ...] = (
    ("Instrument", "instrument"),
    ("Bar", "bar"),
    ("TradeTick", "trade_tick"),
    ("QuoteTick", "quote_tick"),
    ("SubscribeBars", "command.subscribe_bars"),
    ("SubscribeTradeTicks", "command.subscribe_trade_ticks"),
    ("SubscribeQuoteTicks", "command.subscribe_quote_ticks"),
    ("SubmitOrder", "command.submit_order"),
    ("CancelOrder", "command.cancel_order"),
    ("StartStrategy", "command.start_strategy"),
    ("StopStrategy", "command.stop_strategy"),
    ("ModifyOrder", "command.modify_order"),
    ("SetTradingState", "command.set_trading_state"),
    ("OrderDenied", "order.denied"),
    ("OrderSubmitted", "order.submitted"),
    ("OrderAccepted", "order.accepted"),
    ("OrderRejected", "order.rejected"),
    ("OrderTriggered", "order.triggered"),
    ("OrderUpdated", "order.updated"),
    ("OrderModifyRejected", "order.modify_rejected"),
    ("OrderCancelRejected", "order.cancel_rejected"),
    ("OrderCanceled", "order.canceled"),
    ("OrderExpired", "order.expired"),
    ("OrderEmulated", "order.emulated"),
    ("OrderReleased", "order.released"),
    ("FundingRate", "funding_rate"),
    ("FundingPayment", "account.funding"),
    ("OrderFilled", "order.filled"),
    ("PositionOpened", "position.opened"),
    ("PositionChanged", "position.changed"),
    ("PositionClosed", "position.closed"),
    ("AccountUpdated", "account.updated"),
    ("TimerFired", "system.timer_fired"),
    ("ActorStarted", "system.actor_started"),
    ("ActorStopped", "system.actor_stopped"),
    ("ActorFaulted", "system.actor_faulted"),
    ("TradingStateChanged", "system.trading_state_changed"),
    ("OrderTransitionRejected", "system.order_transition_rejected"),
    ("BookDelta", "book_delta"),
    ("SessionStarted", "system.session_started"),
    ("SessionStopping", "system.session_stopping"),
    ("OrderPendingCancel", "order.pending_cancel"),
    ("OrderPendingUpdate", "order.pending_update"),
    ("OrderOutcomeUnknown", "order.outcome_unknown"),
    ("ExternalOrderAdopted", "order.external_adopted"),
    ("AccountState", "account.state"),
    ("SubscribeOrderBook", "command.subscribe_order_book"),
    ("UnsubscribeMarketData", "command.unsubscribe_market_data"),
    ("SessionFailed", "system.session_failed"),
    ("SubmitOrderList", "command.submit_order_list"),
    ("CancelOrderList", "command.cancel_order_list"),
    ("ContingentOrderRefused", "order_list.order_refused"),
    ("OrderListClosed", "order_list.closed"),
    ("SubmitAlgoOrder", "command.submit_algo_order"),
    ("CancelAlgoOrder", "command.cancel_algo_order"),
    ("AlgoChildSent", "algo.child_sent"),
    ("AlgoOrderClosed", "algo.closed"),
)


def test_event_tags_match_golden_list() -> None:
    actual = sorted((t.__name__, str(t.__struct_config__.tag)) for t in MESSAGE_TYPES)
    assert actual == sorted(GOLDEN_TAGS)


def test_event_tags_are_unique_and_use_the_kind_field() -> None:
    tags = [t.__struct_config__.tag for t in MESSAGE_TYPES]
    assert len(set(tags)) == len(tags)
    assert {t.__struct_config__.tag_field for t in MESSAGE_TYPES} == {"kind"}


@pytest.mark.parametrize("message_type", MESSAGE_TYPES, ids=lambda t: t.__name__)
def test_event_type_is_frozen_message_with_timestamps(message_type: type[Message]) -> None:
    assert issubclass(message_type, Event | Command)
    assert message_type.__struct_config__.frozen
    fields = {field.name: field for field in msgspec.structs.fields(message_type)}
    for name in ("ts_event", "ts_init"):
        assert name in fields and fields[name].type is int
        assert fields[name].required


def test_event_tags_commands_are_prefixed_command() -> None:
    for message_type in MESSAGE_TYPES:
        tag = str(message_type.__struct_config__.tag)
        assert tag.startswith("command.") == issubclass(message_type, Command), tag
