"""Health, readiness and status, read over HTTP from a running node."""

from __future__ import annotations

from http_daemon import Daemon


def test_health_when_running_is_live(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"live": True, "state": "running"}


def test_ready_when_recovered_and_reconciled_is_ready(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["ready"] is True
    assert response.json()["journal_audit"]["state"] == "clean"


def test_status_reports_mode_session_actors_and_queues(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        status = client.get("/api/v1/status").json()

    assert status["mode"] == "paper"
    assert status["session"] == daemon.node.session
    assert status["trading_state"] in {"ACTIVE", "REDUCING", "HALTED"}
    assert status["engine_ts"] > 0
    assert status["uptime_s"] >= 0
    # A first start trusted no earlier check: nothing to check again, nothing found.
    assert status["journal_audit"]["state"] == "clean"
    assert status["journal_audit"]["trusted_through"] == 0
    actors = {actor["id"]: actor for actor in status["actors"]}
    assert {"orders", "risk", "portfolio", "sma-cross"} <= set(actors)
    assert actors["risk"]["state"] == "running"
    assert status["queues"]["bus"] == 0  # read between two graph steps
    assert "feed-0-BTC/USDT.SIM" in status["queues"]["inbox"]


def test_unknown_route_is_a_json_404(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_wrong_method_is_a_json_405(daemon: Daemon) -> None:
    with daemon.client(token=None) as client:
        response = client.post("/health")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
