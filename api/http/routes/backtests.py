"""Backtests: submit one as a background job, poll it, fetch its results; past runs.

Jobs run in worker processes (`api.http.jobs`); results are read back from the run
store (`engine.persistence.ResultStore`) in a thread, so SQLite never blocks the loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import ApiContext, context
from api.http.errors import ApiError
from api.http.inputs import read_body
from api.http.jobs import BacktestJobs, JobStatus
from api.http.paging import page
from api.http.responses import json_response
from api.http.schemas import BacktestRequest
from engine.persistence import ResultStore

__all__ = ("ROUTES", "get_job", "job_results", "list_jobs", "list_runs", "run_results",
           "submit_backtest")


def _jobs(api: ApiContext) -> BacktestJobs:
    if api.jobs is None:
        raise ApiError(503, "backtest jobs are not available: the API has no data folder")
    return api.jobs


async def submit_backtest(request: Request) -> Response:
    """Queue a backtest of a config file on the daemon's machine (none: the bundled demo)."""
    api = context(request)
    api.guard.check_write(request.headers)
    body = await read_body(request, BacktestRequest, limit=api.config.max_body_bytes)
    jobs = _jobs(api)
    if body.config is not None and not await anyio.to_thread.run_sync(
            Path(body.config).is_file):
        raise ApiError(422, f"field $.config: {body.config[:200]!r} is not a file on the "
                       "daemon's machine", field="$.config")
    return json_response(jobs.submit(body.config), status=202)


async def list_jobs(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    return json_response({"items": _jobs(api).jobs()})


async def get_job(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    return json_response(_jobs(api).job(request.path_params["job_id"]))


async def job_results(request: Request) -> Response:
    """The results of a job that succeeded; 409 while it runs or when it failed."""
    api = context(request)
    api.guard.check_read(request.headers)
    job = _jobs(api).job(request.path_params["job_id"])
    if job.status is not JobStatus.SUCCEEDED or job.outcome is None:
        detail = f": {job.error}" if job.error else ""
        raise ApiError(409, f"backtest {job.job_id}: {job.status}, no results{detail}")
    return json_response(await _results(_jobs(api).results_path, job.outcome.run_id))


async def list_runs(request: Request) -> Response:
    """Every run in the results file, newest first, cursor-paged."""
    api = context(request)
    api.guard.check_read(request.headers)
    path = _jobs(api).results_path
    runs = await anyio.to_thread.run_sync(_summaries, path)
    return json_response(page(request, "runs", [(run.run_id, run) for run in reversed(runs)]))


async def run_results(request: Request) -> Response:
    api = context(request)
    api.guard.check_read(request.headers)
    raw = request.path_params["run_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(404, f"run {raw[:40]!r}: unknown")
    return json_response(await _results(_jobs(api).results_path, int(raw)))


def _summaries(path: Path) -> list[Any]:
    return ResultStore(path).run_summaries() if path.exists() else []


async def _results(path: Path, run_id: int) -> dict[str, Any]:
    results = await anyio.to_thread.run_sync(_read_results, path, run_id)
    if results is None:
        raise ApiError(404, f"run {run_id}: unknown")
    return results


def _read_results(path: Path, run_id: int) -> dict[str, Any] | None:
    if not path.exists():
        return None
    store = ResultStore(path)
    report = store.report(run_id)
    if report is None:
        return None
    return {
        "run_id": run_id,
        "metrics": msgspec.json.decode(report),
        "trades": store.trades(run_id),
        "fills": store.fills(run_id),
        "equity_curve": [{"ts": ts, "equity": equity}
                         for ts, equity in store.equity_curve(run_id)],
    }


ROUTES = (
    Route("/api/v1/backtests", submit_backtest, methods=["POST"]),
    Route("/api/v1/backtests", list_jobs, methods=["GET"]),
    Route("/api/v1/backtests/{job_id}", get_job, methods=["GET"]),
    Route("/api/v1/backtests/{job_id}/results", job_results, methods=["GET"]),
    Route("/api/v1/backtest-runs", list_runs, methods=["GET"]),
    Route("/api/v1/backtest-runs/{run_id}", run_results, methods=["GET"]),
)
