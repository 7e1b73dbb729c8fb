"""`/ws/events` through a real server and real WebSocket clients: several, one slow."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import orjson
import pytest
import websockets.sync.client
from http_daemon import TOKEN, Daemon, start_daemon
from websockets.sync.client import ClientConnection

from engine.events.system import ActorFaulted

BUFFER = 32
TOPIC = "system.apitest"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    yield from start_daemon(tmp_path_factory.mktemp("ws"), TRADEBUS_API_TOKEN=TOKEN,
                            TRADEBUS__API__WS_BUFFER=str(BUFFER))


def connect(
    stack: ExitStack, daemon: Daemon, patterns: list[str], **options: Any
) -> ClientConnection:
    """Connect, subscribe, and wait for the acknowledgement (the taps exist then)."""
    url = daemon.url.replace("http", "ws") + "/ws/events"
    client = stack.enter_context(websockets.sync.client.connect(
        url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, open_timeout=5,
        compression=None, **options))  # uncompressed: the padding really takes room
    client.send(orjson.dumps({"op": "subscribe", "patterns": patterns}).decode())
    assert receive(client) == {"type": "subscribed", "patterns": patterns}
    return client


def receive(client: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(client.recv(timeout=10))
    return message


def publish_batch(daemon: Daemon, first: int, count: int, padding: str) -> None:
    """Publish `count` numbered events on the test topic in one go, on the node's loop."""
    def publish() -> None:
        bus = daemon.node.graph.bus
        for number in range(first, first + count):
            bus.publish(TOPIC, ActorFaulted(actor_id="apitest", error_type="Probe",
                                            error=f"{number}:{padding}", message_kind="probe",
                                            ts_event=number, ts_init=number))
    daemon.on_loop(publish)


def number_of(frame: dict[str, Any]) -> int:
    return int(frame["event"]["error"].split(":", 1)[0])


def client_taps(daemon: Daemon) -> list[str]:
    return daemon.on_loop(lambda: [t.name for t in daemon.node.graph.bus.taps()
                                   if t.name.startswith("ws-")])


def test_overlapping_patterns_deliver_each_event_once_with_its_topic(daemon: Daemon) -> None:
    with ExitStack() as stack:
        client = connect(stack, daemon, ["events.order.manual", "events.order.*"])
        with daemon.client() as http:
            placed = http.post("/api/v1/orders", json={
                "instrument_id": "BTC/USDT.SIM", "side": "buy", "quantity": "500"}).json()
            http.put("/api/v1/trading-state", json={"state": "ACTIVE"})  # no-op: a marker
        client_order_id = placed["order"]["client_order_id"]
        frame = receive(client)
        client.send(orjson.dumps({"op": "subscribe", "patterns": ["events.order.*"]}).decode())
        after = receive(client)  # nothing else was queued before this acknowledgement

    assert placed["outcome"] == "denied"
    assert frame["type"] == "event"
    assert frame["topic"] == "events.order.manual"
    assert frame["event"]["kind"] == "order.denied"
    assert frame["event"]["client_order_id"] == client_order_id
    assert after == {"type": "subscribed", "patterns": []}  # the second copy never came


def test_slow_client_drops_oldest_and_is_told_while_others_get_everything(
    daemon: Daemon,
) -> None:
    total, batch, padding = 300, 10, "x" * 64_000
    with ExitStack() as stack:
        check_slow_client(stack, daemon, total, batch, padding)


def check_slow_client(stack: ExitStack, daemon: Daemon, total: int, batch: int,
                      padding: str) -> None:
    fast = [connect(stack, daemon, [TOPIC]) for _ in range(2)]
    slow = connect(stack, daemon, [TOPIC], max_queue=1)  # reads nothing until the end

    received: list[list[int]] = [[] for _ in fast]
    for first in range(0, total, batch):
        publish_batch(daemon, first, batch, padding)
        for index, client in enumerate(fast):
            for _ in range(batch):
                frame = receive(client)
                assert frame["type"] == "event", frame  # never a "dropped" notice
                received[index].append(number_of(frame))
    slow_events: list[int] = []
    dropped = 0
    while not slow_events or slow_events[-1] != total - 1:
        frame = receive(slow)
        if frame["type"] == "dropped":
            dropped += frame["count"]
            assert frame["total"] == dropped
        else:
            slow_events.append(number_of(frame))

    assert received == [list(range(total))] * len(fast)
    assert dropped > 0
    assert len(slow_events) + dropped == total
    assert slow_events == sorted(slow_events)  # the oldest went, order kept
    assert daemon.on_loop(daemon.node.health).ready


def test_taps_are_removed_when_clients_go(daemon: Daemon) -> None:
    with ExitStack() as stack:
        for _ in range(3):
            connect(stack, daemon, ["events.#", TOPIC])
        during = len(client_taps(daemon))

    for _ in range(500):
        if not client_taps(daemon):
            break
        time.sleep(0.01)

    assert during >= 6
    assert client_taps(daemon) == []


def test_malformed_messages_get_errors_and_the_connection_stays(daemon: Daemon) -> None:
    stack = ExitStack()
    client = connect(stack, daemon, [TOPIC])

    client.send("{broken")
    broken = receive(client)
    client.send(orjson.dumps({"op": "subscribe", "patterns": "events.*"}).decode())
    wrong_type = receive(client)
    client.send(orjson.dumps({"op": "subscribe", "patterns": ["a.#.b"]}).decode())
    bad_pattern = receive(client)
    acknowledged = receive(client)
    client.send(orjson.dumps({"op": "unsubscribe", "patterns": [TOPIC]}).decode())
    unsubscribed = receive(client)
    stack.close()

    assert broken["type"] == "error"
    assert wrong_type == {"type": "error", "field": "$.patterns",
                          "detail": wrong_type["detail"]}
    assert bad_pattern["type"] == "error" and bad_pattern["field"] == "$.patterns"
    assert acknowledged == {"type": "subscribed", "patterns": []}
    assert unsubscribed == {"type": "unsubscribed", "patterns": [TOPIC]}


def test_client_gone_while_events_are_sent_ends_quietly(
        daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    with ExitStack() as stack:
        client = connect(stack, daemon, [TOPIC])
        publish_batch(daemon, 0, 200, "x" * 2000)
        client.socket.close()  # gone without a close handshake, frames still on their way
        for first in range(200, 2200, 200):
            publish_batch(daemon, first, 200, "x" * 2000)

    for _ in range(500):
        if not client_taps(daemon):
            break
        time.sleep(0.01)

    assert client_taps(daemon) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
