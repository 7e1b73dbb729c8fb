"""The HTTP side of the daemon (not in this version yet): where the Starlette app lands.

What will live here: `create_app(node, config)`, a Starlette app built by a factory (no
module-level app) on a running `engine.runtime.TradingNode`: REST routes for orders,
portfolio, strategies and health (`TradingNode.health()`), WebSocket streams fed by bus
subscriptions through bounded memory streams, and the Prometheus exposition, a
collector reading the engine's `statistics()` at scrape time (the engine never imports
prometheus_client). It is composed by `api.compose`, like every other part.
"""

__all__ = ()
