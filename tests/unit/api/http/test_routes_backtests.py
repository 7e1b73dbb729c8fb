"""Backtest jobs on a running daemon: a real worker process runs the bundled demo.

The job is submitted over HTTP, polled until it ends, and its results (metrics,
trades, equity curve) read back from the results SQLite file; a job with a bad
config fails with the config error, as a job, never as a 500.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_daemon import Daemon

from api.compose.backtest import DEFAULT_BACKTEST_CONFIG


def finished(client: httpx.Client, job_id: str, *, seconds: float = 120) -> dict[str, Any]:
    statuses = set()
    for _ in range(int(seconds / 0.05)):
        job = client.get(f"/api/v1/backtests/{job_id}").json()
        statuses.add(job["status"])
        if job["status"] in {"succeeded", "failed"}:
            job["seen"] = sorted(statuses)
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id}: still {job['status']}")


@pytest.fixture(scope="module")
def demo_job(daemon: Daemon) -> dict[str, Any]:
    with daemon.client() as client:
        submitted = client.post("/api/v1/backtests", json={})
        assert submitted.status_code == 202, submitted.text
        return {"submitted": submitted.json(),
                "done": finished(client, submitted.json()["job_id"])}


def test_demo_backtest_job_runs_in_a_worker_and_succeeds(demo_job: dict[str, Any]) -> None:
    done = demo_job["done"]

    assert demo_job["submitted"]["status"] in {"queued", "running"}
    assert done["status"] == "succeeded", done
    assert done["outcome"]["items_processed"] == 20_000 == done["progress"]["items"]
    assert done["progress"]["total"] == 20_000


def test_job_results_have_metrics_trades_and_equity(daemon: Daemon,
                                                     demo_job: dict[str, Any]) -> None:
    job_id = demo_job["done"]["job_id"]
    with daemon.client(token=None) as client:
        results = client.get(f"/api/v1/backtests/{job_id}/results").json()
        stored = client.get(f"/api/v1/backtest-runs/{results['run_id']}").json()

    assert results == stored
    assert results["run_id"] == demo_job["done"]["outcome"]["run_id"]
    assert results["trades"] and results["fills"] and len(results["equity_curve"]) > 100
    assert "total_return" in str(results["metrics"]) or results["metrics"]


def test_runs_list_pages_with_a_cursor(daemon: Daemon, demo_job: dict[str, Any]) -> None:
    with daemon.client() as client:
        second = client.post("/api/v1/backtests", json={})
        finished(client, second.json()["job_id"])
        first_page = client.get("/api/v1/backtest-runs", params={"limit": 1}).json()
        next_page = client.get("/api/v1/backtest-runs", params={
            "limit": 1, "cursor": first_page["next_cursor"]}).json()

    assert first_page["total"] >= 2 and len(first_page["items"]) == 1
    assert next_page["items"][0]["run_id"] < first_page["items"][0]["run_id"]


def test_job_with_a_bad_config_fails_with_the_error(daemon: Daemon, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_BACKTEST_CONFIG.read_text().replace(
        'max_open_orders = 20', 'max_open_orders = "many"'))
    with daemon.client() as client:
        job = finished(client, client.post("/api/v1/backtests",
                                           json={"config": str(bad)}).json()["job_id"])
        results = client.get(f"/api/v1/backtests/{job['job_id']}/results")

    assert job["status"] == "failed" and "max_open_orders" in job["error"]
    assert results.status_code == 409 and "failed" in results.json()["detail"]


def test_job_whose_worker_dies_is_failed(daemon: Daemon) -> None:
    # kill -9 of the worker process mid-run (its pid is in the job's progress).
    with daemon.client() as client:
        job_id = client.post("/api/v1/backtests", json={}).json()["job_id"]
        for _ in range(4000):
            job = client.get(f"/api/v1/backtests/{job_id}").json()
            if job["progress"] is not None:
                break
            time.sleep(0.002)
        os.kill(job["progress"]["pid"], signal.SIGKILL)
        done = finished(client, job_id)
        after = client.post("/api/v1/backtests", json={}).json()["job_id"]
        next_job = finished(client, after)

    assert done["status"] == "failed" and "died" in done["error"]
    assert next_job["status"] == "succeeded"  # a fresh worker takes the next job


def test_submit_errors_are_json(daemon: Daemon) -> None:
    with daemon.client() as client, daemon.client(token=None) as anonymous:
        missing = client.post("/api/v1/backtests", json={"config": "/no/such.toml"})
        unknown_field = client.post("/api/v1/backtests", json={"cfg": "x"})
        not_json = client.post("/api/v1/backtests", content=b"{",
                               headers={"content-type": "application/json"})
        no_token = anonymous.post("/api/v1/backtests", json={})
        no_job = client.get("/api/v1/backtests/job-999")
        no_run = client.get("/api/v1/backtest-runs/99999")
        bad_run = client.get("/api/v1/backtest-runs/abc")
        bad_cursor = client.get("/api/v1/backtest-runs", params={"cursor": "@@"})

    assert missing.status_code == 422 and missing.json()["field"] == "$.config"
    assert unknown_field.status_code == 422 and unknown_field.json()["field"] == "$"
    assert not_json.status_code == 400
    assert no_token.status_code == 401
    assert no_job.status_code == no_run.status_code == bad_run.status_code == 404
    assert bad_cursor.status_code == 400 and bad_cursor.json()["field"] == "cursor"
