"""Strategy routes on a running node: stop and start one strategy as journaled inputs."""

from __future__ import annotations

import time

from http_daemon import Daemon

from engine.persistence.journal_reader import JournalReader

STRATEGY = "sma-cross"


def state_of(daemon: Daemon) -> str:
    return daemon.on_loop(lambda: str(next(s for s in daemon.node.graph.strategies
                                           if s.id == STRATEGY).state))


def test_stop_then_start_a_strategy(daemon: Daemon) -> None:
    with daemon.client() as client:
        stopped = client.post(f"/api/v1/strategies/{STRATEGY}/stop",
                              json={"cancel_open_orders": True})
        state_stopped = state_of(daemon)
        again = client.post(f"/api/v1/strategies/{STRATEGY}/stop")
        started = client.post(f"/api/v1/strategies/{STRATEGY}/start")
        twice = client.post(f"/api/v1/strategies/{STRATEGY}/start")

    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    assert state_stopped == "stopped"
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert started.status_code == 200 and started.json()["state"] == "running"
    assert state_of(daemon) == "running"
    assert twice.status_code == 409


def test_strategy_control_is_journaled_as_an_input(daemon: Daemon) -> None:
    with daemon.client() as client:
        client.post(f"/api/v1/strategies/{STRATEGY}/stop")
        client.post(f"/api/v1/strategies/{STRATEGY}/start")
    for _ in range(500):  # the writer commits in batches, off the graph
        journal = daemon.on_loop(lambda: daemon.node.statistics().journal)
        if journal.committed >= journal.appended:
            break
        time.sleep(0.01)

    kinds = [record.kind for record in JournalReader(daemon.node.journal_path).records(
        inputs_only=True, kinds=("command.stop_strategy", "command.start_strategy"))]
    assert kinds[-2:] == ["command.stop_strategy", "command.start_strategy"]


def test_unknown_strategy_is_404(daemon: Daemon) -> None:
    with daemon.client() as client:
        response = client.post("/api/v1/strategies/nope/stop")

    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_stop_body_fields_are_validated(daemon: Daemon) -> None:
    with daemon.client() as client:
        wrong_type = client.post(f"/api/v1/strategies/{STRATEGY}/stop",
                                 json={"cancel_open_orders": "yes"})
        unknown = client.post(f"/api/v1/strategies/{STRATEGY}/stop", json={"cancel": True})

    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "$.cancel_open_orders"
    assert unknown.status_code == 422
    assert state_of(daemon) == "running"


def test_strategy_control_needs_the_token(daemon: Daemon) -> None:
    with daemon.client(token=None) as anonymous, daemon.client(token="wrong") as wrong:
        missing = anonymous.post(f"/api/v1/strategies/{STRATEGY}/stop")
        bad = wrong.post(f"/api/v1/strategies/{STRATEGY}/start")

    assert missing.status_code == 401 and bad.status_code == 401
    assert state_of(daemon) == "running"
