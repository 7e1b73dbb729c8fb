"""The one place messages are encoded and decoded: msgpack for the journal, JSON for the API.

Encoders and decoders are built once (msgspec's perf advice) over `AnyMessage`, the
tagged union of every concrete message type.
"""

from __future__ import annotations

from typing import Final, TypeAlias

import msgspec

from engine.events.algos import (
    AlgoChildSent,
    AlgoOrderClosed,
    CancelAlgoOrder,
    SubmitAlgoOrder,
)
from engine.events.base import Message
from engine.events.contingency import (
    CancelOrderList,
    ContingentOrderRefused,
    OrderListClosed,
    SubmitOrderList,
)
from engine.events.fills import (
    AccountState,
    AccountUpdated,
    FundingPayment,
    OrderFilled,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from engine.events.market import (
    Bar,
    BookDelta,
    FundingRate,
    Instrument,
    QuoteTick,
    SubscribeBars,
    SubscribeOrderBook,
    SubscribeQuoteTicks,
    SubscribeTradeTicks,
    TradeTick,
    UnsubscribeMarketData,
)
from engine.events.orders import (
    CancelOrder,
    ExternalOrderAdopted,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEmulated,
    OrderExpired,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderReleased,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    SetTradingState,
    SubmitOrder,
)
from engine.events.system import (
    ActorFaulted,
    ActorStarted,
    ActorStopped,
    OrderTransitionRejected,
    SessionFailed,
    SessionStarted,
    SessionStopping,
    StartStrategy,
    StopStrategy,
    TimerFired,
    TradingStateChanged,
)

__all__ = (
    "MESSAGE_TYPES",
    "TAGS",
    "AnyMessage",
    "decode_json",
    "decode_msgpack",
    "encode_json",
    "encode_msgpack",
)

AnyMessage: TypeAlias = (
    Instrument
    | Bar
    | TradeTick
    | QuoteTick
    | SubscribeBars
    | SubscribeTradeTicks
    | SubscribeQuoteTicks
    | SubmitOrder
    | CancelOrder
    | ModifyOrder
    | SetTradingState
    | OrderDenied
    | OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderTriggered
    | OrderUpdated
    | OrderModifyRejected
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderFilled
    | PositionOpened
    | PositionChanged
    | PositionClosed
    | AccountUpdated
    | TimerFired
    | ActorStarted
    | ActorStopped
    | ActorFaulted
    | TradingStateChanged
    | OrderTransitionRejected
    | BookDelta
    | SessionStarted
    | SessionStopping
    | OrderPendingCancel
    | OrderPendingUpdate
    | OrderOutcomeUnknown
    | ExternalOrderAdopted
    | AccountState
    | SubscribeOrderBook
    | UnsubscribeMarketData
    | SessionFailed
    | StartStrategy
    | StopStrategy
    | SubmitOrderList
    | CancelOrderList
    | ContingentOrderRefused
    | OrderListClosed
    | SubmitAlgoOrder
    | CancelAlgoOrder
    | AlgoChildSent
    | AlgoOrderClosed
    | OrderEmulated
    | OrderReleased
    | FundingRate
    | FundingPayment
)

MESSAGE_TYPES: Final[tuple[type[Message], ...]] = AnyMessage.__args__

TAGS: Final[dict[type[object], str]] = {
    message_type: str(message_type.__struct_config__.tag) for message_type in MESSAGE_TYPES
}
"""Each message type's stable wire tag (`order.filled`): the journal's and the API's kind."""

_msgpack_encoder: Final = msgspec.msgpack.Encoder()
_msgpack_decoder: Final[msgspec.msgpack.Decoder[AnyMessage]] = msgspec.msgpack.Decoder(AnyMessage)
_json_encoder: Final = msgspec.json.Encoder()
_json_decoder: Final[msgspec.json.Decoder[AnyMessage]] = msgspec.json.Decoder(AnyMessage)


def encode_msgpack(message: Message) -> bytes:
    """Encode for the journal: compact and exact (Decimals travel as strings)."""
    return _msgpack_encoder.encode(message)


def decode_msgpack(data: bytes) -> AnyMessage:
    return _msgpack_decoder.decode(data)


def encode_json(message: Message) -> bytes:
    return _json_encoder.encode(message)


def decode_json(data: bytes | str) -> AnyMessage:
    return _json_decoder.decode(data)
