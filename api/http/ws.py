"""`/ws/events`: stream published events to WebSocket clients, through taps.

A client (with the bearer token: the `Authorization` header, or from a browser the
subprotocols `bearer, <token>`) sends `{"op": "subscribe", "patterns": [...]}` with
topic patterns (`events.order.*`, `data.bars.sim.*.1m`, `#`) and gets, for each event
published on a matching topic, one text frame `{"type": "event", "topic": ...,
"event": {...}}` (the event as `engine.events.codec.encode_json` writes it). Each event
is sent once even when several of the client's patterns match it (the pattern
subscribed first sends it). Order is publish order within a pattern.

Each pattern is a tap of its own (`engine.taps`): a bounded buffer (`ws_buffer`) the
bus fills without ever blocking. The policy is drop-oldest: a client that reads too
slowly loses the oldest events it has not been sent, and before the next events it is
told how many: `{"type": "dropped", "pattern": ..., "count": n, "total": N}`. One slow
client blocks only its own sending task; the bus and other clients do not wait. Taps
are removed when the client unsubscribes or goes.

Other replies: `{"type": "subscribed", "patterns": [...]}`, `{"type": "error", ...}`
for a malformed message or pattern (the connection stays open).

A pump that has sent a batch pauses `COALESCE_S` before it takes the next: under a
steady flow its tap then fills while nobody waits on it, so the bus's `offer` only
appends (it wakes a waiting pump otherwise, a loop callback inside the handler that
published). Events reach a busy client in batches at most that much later; an idle
one waits on its tap and is woken at once.
"""

from __future__ import annotations

import logging

import anyio
import anyio.abc
import anyio.lowlevel
import msgspec
import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from api.http.auth import BEARER_SUBPROTOCOL
from api.http.context import ApiContext, context
from api.http.errors import validation_error
from api.http.schemas import ClientMessage, Subscribe
from engine.events.codec import encode_json
from engine.taps import Tap
from engine.topics import matches

__all__ = ("COALESCE_S", "MAX_PATTERNS", "ROUTES", "events_stream")

logger = logging.getLogger(__name__)

MAX_PATTERNS = 32
COALESCE_S = 0.002
_BATCH = 256
_POLICY_VIOLATION = 1008
_decoder = msgspec.json.Decoder(ClientMessage)


async def events_stream(websocket: WebSocket) -> None:
    """Serve one WebSocket client until it goes."""
    api = context(websocket)
    if not api.guard.accepts(websocket.headers):
        await websocket.close(code=_POLICY_VIOLATION)  # before accept: a 403 handshake
        return
    offered = websocket.headers.get("sec-websocket-protocol", "")
    await websocket.accept(
        subprotocol=BEARER_SUBPROTOCOL if offered.startswith(BEARER_SUBPROTOCOL) else None)
    client = _Client(api, websocket)
    try:
        await client.serve()
    finally:
        client.close()


class _Client:
    """One connection: its taps (one per pattern, in subscription order) and their pumps."""

    def __init__(self, api: ApiContext, websocket: WebSocket) -> None:
        self._api = api
        self._websocket = websocket
        self._name = api.tap_name()
        self._taps: dict[str, Tap] = {}  # pattern -> tap, in subscription order
        self._send_lock = anyio.Lock()
        self._group: anyio.abc.TaskGroup | None = None

    async def serve(self) -> None:
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                while True:
                    text = await self._websocket.receive_text()
                    await self._handle(text, group)
            except WebSocketDisconnect:
                pass
            except KeyError:  # a binary frame: receive_text finds no "text"
                logger.info("websocket %s: binary frame, closing", self._name)
            group.cancel_scope.cancel()

    def close(self) -> None:
        for tap in self._taps.values():
            tap.close()
        self._taps.clear()

    async def _handle(self, text: str, group: anyio.abc.TaskGroup) -> None:
        try:
            message = _decoder.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            problem = validation_error(error)
            await self._send({"type": "error", "detail": problem.detail, "field": problem.field})
            return
        if isinstance(message, Subscribe):
            await self._subscribe(message.patterns, group)
        else:
            for pattern in message.patterns:
                tap = self._taps.pop(pattern, None)
                if tap is not None:
                    tap.close()
            await self._send({"type": "unsubscribed", "patterns": message.patterns})

    async def _subscribe(self, patterns: list[str], group: anyio.abc.TaskGroup) -> None:
        bus = self._api.graph().bus
        added: list[str] = []
        for pattern in patterns:
            if pattern in self._taps:
                continue
            if len(self._taps) >= MAX_PATTERNS:
                await self._send({"type": "error", "field": "$.patterns",
                                  "detail": f"at most {MAX_PATTERNS} patterns per client"})
                break
            try:
                tap = bus.add_tap(pattern, capacity=self._api.config.ws_buffer,
                                  name=f"{self._name} {pattern}")
            except ValueError as error:
                await self._send({"type": "error", "field": "$.patterns",
                                  "detail": f"pattern {pattern[:60]!r}: {error}"})
                continue
            self._taps[pattern] = tap
            added.append(pattern)
            group.start_soon(self._pump, pattern, tap)
        await self._send({"type": "subscribed", "patterns": added})

    async def _pump(self, pattern: str, tap: Tap) -> None:
        reported = 0
        while True:
            try:
                batch = await tap.receive_batch(_BATCH)
            except anyio.EndOfStream:
                return
            dropped = tap.statistics().dropped
            if dropped > reported:
                await self._send({"type": "dropped", "pattern": pattern,
                                  "count": dropped - reported, "total": dropped})
                reported = dropped
            earlier = self._earlier_patterns(pattern)
            for topic, message in batch:
                if any(matches(other, topic) for other in earlier):
                    continue  # an earlier pattern of this client sends it
                frame = (b'{"type":"event","topic":' + orjson.dumps(topic)
                         + b',"event":' + encode_json(message) + b"}")
                await self._send_text(frame.decode())
            await anyio.sleep(COALESCE_S)

    def _earlier_patterns(self, pattern: str) -> list[str]:
        earlier = []
        for other in self._taps:
            if other == pattern:
                break
            earlier.append(other)
        return earlier

    async def _send(self, content: dict[str, object]) -> None:
        await self._send_text(orjson.dumps(content).decode())

    async def _send_text(self, text: str) -> None:
        try:
            async with self._send_lock:
                await self._websocket.send_text(text)
        except (WebSocketDisconnect, WebSocketDisconnected):
            # The client went while a frame was on its way: the end of the connection,
            # as when the receive loop sees the close (not an error of the app).
            if self._group is not None:
                self._group.cancel_scope.cancel()
            await anyio.lowlevel.checkpoint()  # raises the cancellation just requested
            raise


ROUTES = (WebSocketRoute("/ws/events", events_stream),)
