"""Health and status: `/health` (liveness), `/ready` (readiness), `/api/v1/status`."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.context import context
from api.http.responses import json_response

__all__ = ("ROUTES", "health", "ready", "status")


async def health(request: Request) -> Response:
    """Liveness: the event loop turns (a heartbeat); 503 when it is stuck or stopped."""
    node_health = context(request).node.health()
    return json_response({"live": node_health.live, "state": node_health.state},
                         status=200 if node_health.live else 503)


async def ready(request: Request) -> Response:
    """Readiness: recovery and reconciliation are done and the runner handles entries."""
    node_health = context(request).node.health()
    is_ready = node_health.ready and node_health.venue_agrees
    poison = node_health.poison
    return json_response(
        {"ready": is_ready, "state": node_health.state,
         "venue_agrees": node_health.venue_agrees,
         **({"reason": f"halted: {poison.describe()}", "poison": poison}
            if poison is not None else {}),
         # Damage there does not make the node unready: its state does not depend on it.
         **({"journal_audit": node_health.journal_audit}
            if node_health.journal_audit is not None else {})},
        status=200 if is_ready else 503,
    )


async def status(request: Request) -> Response:
    """Mode, uptime, engine time, trading state, session, actors and queue depths."""
    api = context(request)
    api.guard.check_read(request.headers)
    node = api.node
    node_health = node.health()
    graph = api.graph()
    statistics = node.statistics()
    inbox = statistics.inbox
    return json_response({
        "mode": node.mode,
        "state": node_health.state,
        "live": node_health.live,
        "ready": node_health.ready,
        "session": node_health.session,
        "recovered_inputs": node_health.recovered_inputs,
        "venue_agrees": node_health.venue_agrees,
        "poison": node_health.poison,
        "journal_audit": node_health.journal_audit,
        "uptime_s": round(time.monotonic() - api.started_monotonic, 3),
        "engine_ts": node_health.engine_ts,
        "trading_state": str(graph.risk.trading_state).upper(),
        "actors": [{"id": a.id, "kind": a.kind, "state": a.state}
                   for a in statistics.actors],
        "actor_faults": statistics.actor_faults,
        "queues": {
            "bus": statistics.bus.queue_depth,
            "inbox": {name: lane.depth for name, lane in inbox.lanes.items()}
            if inbox is not None else {},
            "inbox_dropped": {name: lane.dropped for name, lane in inbox.lanes.items()}
            if inbox is not None else {},
        },
        "bus": statistics.bus,
        "taps": statistics.taps,
    })


ROUTES = (
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
    Route("/api/v1/status", status, methods=["GET"]),
)
