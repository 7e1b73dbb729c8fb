"""Prometheus exposition of a running `TradingNode`: a collector read at scrape time.

`metrics_app(node)` is the ASGI app served at `/metrics` (the API app mounts it). Each
scrape calls `NodeCollector.collect` synchronously on the event loop (prometheus-client's
ASGI app bakes the output inside its coroutine), so no handler runs while it reads and
every figure comes from one moment: `node.statistics()` (bus, actors, inbox, runner,
journal, venues, feeds, taps) and the core actors' public read methods (orders, fills,
positions, equity, pnl). Nothing here writes to the graph.

Three figures are not counters the engine keeps, and are measured here:

- handler latency per actor (wall seconds), by the bus's dispatch probe that this
  collector installs on its first scrape (`api.http.handler_latency`): every delivery
  of 1 drain in `sample_every` is timed. Without a collector the bus has no probe.

- market-data latency (`ts_init - ts_event`: source time to engine time, engine-clock
  seconds) of every market data input the daemon's runner handled since the last
  scrape, kept by this collector's `InputWindow` (`api.http.input_window`), which the
  first scrape after the runner exists attaches. It keeps the newest `capacity`: a
  larger burst between two scrapes is sampled, counted in
  `tradebus_market_data_inputs_overwritten_total`. A graph with no runner (a backtest)
  has no feeds, and no such figures.
- drawdown: the peak of the equity curve's samples and of the equity seen at scrapes.

Names follow Prometheus's rules: `tradebus_<subsystem>_<thing>`, units in the name,
`_total` for counters; labels are bounded by the config (venues, instruments, feeds,
lanes, strategies, risk reasons, order statuses), never an order id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from api.http.handler_latency import DEFAULT_SAMPLE_EVERY, GraphProbe, Histogram
from api.http.input_window import DEFAULT_CAPACITY, InputWindow
from engine.domain.enums import OrderStatus, TradingState
from engine.events.market import Bar, BookDelta, QuoteTick, TradeTick
from engine.graph import TradingGraph, instrument_of
from engine.persistence.journal_schema import COMMIT_SECONDS_BUCKETS
from engine.runtime import RunnerState, TradingNode
from engine.runtime.statistics import NodeStatistics

__all__ = (
    "LATENCY_BUCKETS_S",
    "GraphProbe",
    "MetricsApp",
    "NodeCollector",
    "metrics_app",
    "metrics_registry",
)

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Market-data latency buckets (seconds of engine time)."""

_GRAPH_STATES = (RunnerState.RUNNING, RunnerState.STOPPING, RunnerState.STOPPED)
_NS = 1e-9
_DATA_KINDS: dict[type, str] = {Bar: "bar", QuoteTick: "quote", TradeTick: "trade",
                                BookDelta: "book"}
_FEED_ERRORS = (("malformed", "malformed"), ("errors", "error"))
_IRREGULAR_ORDER_EVENTS = (
    ("illegal_transitions", "illegal_transition"),
    ("unknown_order_events", "unknown_order"),
    ("duplicate_fills", "duplicate_fill"),
    ("duplicate_events", "duplicate_event"),
    ("invalid_events", "invalid_event"),
    ("late_fills", "late_fill"),
    ("external_orders", "external_order"),
    ("in_doubt", "in_doubt"),
)


def metrics_app(node: TradingNode, *, capacity: int = DEFAULT_CAPACITY,
                sample_every: int = DEFAULT_SAMPLE_EVERY) -> MetricsApp:
    """The ASGI app serving `node`'s metrics in Prometheus's text format (`/metrics`).

    An object, not a function, so Starlette routes to it as a raw ASGI app:
    `Route("/metrics", metrics_app(node))` answers `/metrics` itself, where a `Mount`
    would first redirect it to `/metrics/`.
    """
    return MetricsApp(metrics_registry(node, capacity=capacity,
                                       sample_every=sample_every))


class MetricsApp:
    """prometheus-client's ASGI app over `registry`, also answering a lifespan scope."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._app = make_asgi_app(registry)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # served on its own: nothing to start or stop
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self._app(scope, receive, send)


def metrics_registry(node: TradingNode, *, capacity: int = DEFAULT_CAPACITY,
                     sample_every: int = DEFAULT_SAMPLE_EVERY) -> CollectorRegistry:
    """A registry holding only a `NodeCollector` on `node` (no process or GC collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node, capacity=capacity,
                                    sample_every=sample_every))
    return registry


class NodeCollector(Collector):
    """Read a node's figures at scrape time (call `collect` on the node's event loop)."""

    def __init__(self, node: TradingNode, *, capacity: int = DEFAULT_CAPACITY,
                 sample_every: int = DEFAULT_SAMPLE_EVERY) -> None:
        self._node = node
        self._window = InputWindow(capacity)
        self._window_on: object | None = None  # the runner the window watches
        self._sample_every = sample_every
        self._latency = Histogram(LATENCY_BUCKETS_S)
        self._peak: Decimal | None = None
        self._curve_seen_ns = 0  # the time of the last equity sample folded into the peak
        self._snapshot_failures = 0

    def describe(self) -> Iterable[Any]:
        return ()  # names vary with the config; nothing to check at registration

    def collect(self) -> Iterator[Any]:
        node = self._node
        yield from self._node_families(node)
        graph = node.graph
        # Before RUNNING the graph is recovering (replaying the journal): figures read then
        # would be half-rebuilt. Only the node's state until it runs.
        if graph is None or node.state not in _GRAPH_STATES:
            return
        probe = self._probe(graph)
        yield probe.family()
        yield from self._orders(graph)
        yield from self._fill_families(graph)
        yield from self._risk(graph)
        yield from self._portfolio(graph)
        yield from self._market_data(node)
        try:
            snapshot = node.statistics()
        except TypeError:
            # A part without statistics yet (a replay feed binding answers None until its
            # task has begun, just after the node turns RUNNING): skipped this scrape.
            self._snapshot_failures += 1
            snapshot = None
        yield _counter("tradebus_metrics_snapshot_failures_total",
                       "Scrapes where the node's statistics snapshot was not available.",
                       self._snapshot_failures)
        if snapshot is None:
            return
        yield from self._bus(snapshot)
        yield from self._inbox_runner_journal(snapshot)
        yield from self._feeds(snapshot)
        yield from self._venues(snapshot)
        yield from self._taps(snapshot)

    # -- the node --------------------------------------------------------------------------

    def _node_families(self, node: TradingNode) -> Iterator[Any]:
        health = node.health()
        state = GaugeMetricFamily("tradebus_node_state", "1 for the node's lifecycle state.",
                                  labels=["state"])
        for value in RunnerState:
            state.add_metric([str(value)], float(node.state is value))
        yield state
        yield _gauge("tradebus_node_live", "1 while the event loop turns.", health.live)
        yield _gauge("tradebus_node_ready", "1 once recovery is done and the runner runs.",
                     health.ready)
        yield _gauge("tradebus_node_session", "The journal session number.", health.session)
        yield _gauge("tradebus_node_recovered_inputs",
                     "Journal inputs replayed at start-up.", health.recovered_inputs)
        yield _gauge("tradebus_node_venues_agree",
                     "1 when every venue agreed with the books at reconciliation.",
                     health.venue_agrees)
        yield _gauge("tradebus_engine_time_seconds", "The engine clock (epoch seconds).",
                     health.engine_ts * _NS)
        audit = health.journal_audit
        audit_state = GaugeMetricFamily(
            "tradebus_journal_audit_state", "1 for where the background check of the "
            "journal is (none: snapshots are off, every start checks every record).",
            labels=["state"])
        for value in ("none", "running", "clean", "damaged", "failed"):
            audit_state.add_metric([value], float((audit.state if audit else "none") == value))
        yield audit_state
        yield _gauge("tradebus_journal_audit_damaged",
                     "1 when that check found a damaged record (the log line names it).",
                     audit is not None and audit.state == "damaged")

    # -- bus, actors, inbox, runner, journal -------------------------------------------------

    def _bus(self, snapshot: NodeStatistics) -> Iterator[Any]:
        bus = snapshot.bus
        yield _counter("tradebus_bus_messages_published_total", "Messages published.",
                       bus.messages_published)
        yield _counter("tradebus_bus_messages_handled_total", "Deliveries to handlers.",
                       bus.messages_handled)
        yield _counter("tradebus_bus_handler_errors_total", "Handler exceptions.",
                       bus.handler_errors)
        yield _gauge("tradebus_bus_queue_depth", "Messages waiting for delivery.",
                     bus.queue_depth)
        yield _labelled(CounterMetricFamily, "tradebus_bus_topic_messages",
                        "Messages published, by topic family (first two segments).",
                        ["family"], [((k,), v) for k, v in bus.topic_families.items()])
        yield _labelled(CounterMetricFamily, "tradebus_bus_endpoint_messages",
                        "Messages sent to an endpoint.", ["endpoint"],
                        [((k,), v) for k, v in bus.endpoints.items()])
        yield _counter("tradebus_actor_faults_total", "Actors stopped by an exception.",
                       snapshot.actor_faults)
        yield _labelled(GaugeMetricFamily, "tradebus_actor_running",
                        "1 while the actor is running.", ["actor", "kind"],
                        [((a.id, a.kind), a.state == "running") for a in snapshot.actors])

    def _inbox_runner_journal(self, snapshot: NodeStatistics) -> Iterator[Any]:
        inbox = snapshot.inbox
        if inbox is not None:
            lanes = inbox.lanes.items()
            for name, kind, doc, field in (
                ("tradebus_inbox_depth", GaugeMetricFamily, "Entries waiting.", "depth"),
                ("tradebus_inbox_max_depth", GaugeMetricFamily, "Deepest so far.",
                 "max_depth"),
                ("tradebus_inbox_capacity", GaugeMetricFamily, "Lane bound.", "capacity"),
                ("tradebus_inbox_received", CounterMetricFamily, "Entries put.", "received"),
                ("tradebus_inbox_dropped", CounterMetricFamily,
                 "Entries the lane's overflow policy dropped.", "dropped"),
                ("tradebus_inbox_coalesced", CounterMetricFamily,
                 "Entries replaced by a newer one on the same topic.", "coalesced"),
            ):
                yield _labelled(kind, name, doc, ["lane"],
                                [((lane,), getattr(s, field)) for lane, s in lanes])
            yield _counter("tradebus_inbox_delivered_total", "Entries taken by the runner.",
                           inbox.delivered)
        runner = snapshot.runner
        if runner is not None:
            yield _labelled(CounterMetricFamily, "tradebus_runner_entries_handled",
                            "Inbox entries brought into the graph.", ["kind"],
                            [(("data",), runner.data_handled),
                             (("critical",), runner.critical_handled)])
        journal = snapshot.journal
        if journal is not None:
            yield _counter("tradebus_journal_records_appended_total", "Records appended.",
                           journal.appended)
            yield _counter("tradebus_journal_records_committed_total", "Records durable.",
                           journal.committed)
            yield _counter("tradebus_journal_commits_total", "Transactions committed.",
                           journal.batches)
            yield _counter("tradebus_journal_written_bytes_total", "Payload bytes written.",
                           journal.bytes_written)
            yield _gauge("tradebus_journal_pending_records",
                         "Records appended but not yet durable (the journal's lag).",
                         journal.pending)
            yield _gauge("tradebus_journal_max_batch_records", "Largest commit so far.",
                         journal.max_batch)
            if journal.commit_seconds_buckets:
                # The writer's own histogram (timed around each commit, off the graph).
                buckets = [(str(bound), float(count)) for bound, count in
                           zip(COMMIT_SECONDS_BUCKETS, journal.commit_seconds_buckets,
                               strict=True)]
                buckets.append(("+Inf", float(journal.batches)))
                yield HistogramMetricFamily(
                    "tradebus_journal_commit_seconds",
                    "Time of each journal commit (its INSERTs to its COMMIT), seconds.",
                    buckets=buckets, sum_value=journal.commit_seconds_sum)

    # -- orders, fills, risk -----------------------------------------------------------------

    def _orders(self, graph: TradingGraph) -> Iterator[Any]:
        # Every order this session, exactly, also those retention let go (the order
        # manager counts them by final status): by the raw pair first, then mapped to
        # (venue, status) once per pair.
        pairs = graph.orders.order_counts()
        counts: dict[tuple[str, str], int] = {}
        for (instrument_id, status), count in pairs.items():
            key = (_venue_of(graph, instrument_id), str(status))
            counts[key] = counts.get(key, 0) + count
        venues = {instrument.venue for instrument in graph.instruments}
        for venue in venues:  # every status a series, so a rate over it starts at zero
            for status in OrderStatus:
                counts.setdefault((venue, str(status)), 0)
        yield _labelled(GaugeMetricFamily, "tradebus_orders",
                        "Orders of this session, by venue and current status.",
                        ["venue", "status"], counts.items())
        stats = graph.orders.statistics()
        yield _gauge("tradebus_orders_open", "Open orders.", stats.open_orders)
        yield _counter("tradebus_orders_submitted_total", "Orders submitted.", stats.submitted)
        yield _counter("tradebus_orders_denied_total", "Orders denied by risk.", stats.denied)
        yield _counter("tradebus_orders_rejected_total", "Orders rejected by a venue.",
                       stats.rejected)
        yield _labelled(CounterMetricFamily, "tradebus_order_irregular_events",
                        "Order events outside the plain lifecycle, by kind.", ["kind"],
                        [((label,), getattr(stats, field))
                         for field, label in _IRREGULAR_ORDER_EVENTS])

    def _fill_families(self, graph: TradingGraph) -> Iterator[Any]:
        # The portfolio's running totals: exact session sums, whatever retention let go
        # of the fills themselves, at O(instruments x sides) a scrape.
        fills: dict[tuple[str, str, str, str], int] = {}
        quantity: dict[tuple[str, str], Decimal] = {}
        notional: dict[tuple[str, str], Decimal] = {}
        fees: dict[str, Decimal] = {}
        for totals in graph.portfolio.fill_totals():
            instrument_id, side = totals.instrument_id, str(totals.side)
            venue = _venue_of(graph, instrument_id)
            instrument = graph.instruments.get(instrument_id)
            currency = instrument.quote_currency if instrument is not None else ""
            key = (venue, instrument_id, side, str(totals.liquidity_side))
            fills[key] = fills.get(key, 0) + totals.fills
            quantity[(instrument_id, side)] = (quantity.get((instrument_id, side), Decimal(0))
                                               + totals.quantity)
            notional[(instrument_id, currency)] = (
                notional.get((instrument_id, currency), Decimal(0)) + totals.notional)
            fees[totals.commission_currency] = (fees.get(totals.commission_currency, Decimal(0))
                                                + totals.commission)
        yield _labelled(CounterMetricFamily, "tradebus_fills", "Fills applied.",
                        ["venue", "instrument", "side", "liquidity"], fills.items())
        yield _labelled(CounterMetricFamily, "tradebus_fill_quantity",
                        "Quantity filled (base units).", ["instrument", "side"],
                        quantity.items())
        yield _labelled(CounterMetricFamily, "tradebus_fill_notional",
                        "Notional filled (quantity x price, quote currency).",
                        ["instrument", "currency"], notional.items())
        yield _labelled(CounterMetricFamily, "tradebus_fill_fees", "Commissions paid.",
                        ["currency"], [((k,), v) for k, v in fees.items()])

    def _risk(self, graph: TradingGraph) -> Iterator[Any]:
        stats = graph.risk.statistics()
        state = GaugeMetricFamily("tradebus_risk_trading_state",
                                  "1 for the risk actor's trading state (the kill switch).",
                                  labels=["state"])
        for value in TradingState:
            state.add_metric([str(value)], float(stats.trading_state is value))
        yield state
        yield _counter("tradebus_risk_commands_checked_total", "Commands checked.",
                       stats.commands_checked)
        yield _counter("tradebus_risk_commands_forwarded_total", "Commands sent on.",
                       stats.commands_forwarded)
        yield _labelled(CounterMetricFamily, "tradebus_risk_denials",
                        "Commands refused, by reason.", ["reason"],
                        [((k,), v) for k, v in stats.denied_by_reason.items()])

    # -- portfolio ------------------------------------------------------------------------

    def _portfolio(self, graph: TradingGraph) -> Iterator[Any]:
        portfolio = graph.portfolio
        base = portfolio.statistics().account_currency
        equity = portfolio.equity()
        # By time, not by index: under retention the curve is thinned when it is full.
        for ts_ns, value in portfolio.equity_curve_since(self._curve_seen_ns):
            self._peak = value if self._peak is None else max(self._peak, value)
            self._curve_seen_ns = ts_ns
        peak = self._peak = equity if self._peak is None else max(self._peak, equity)
        drawdown = (peak - equity) / peak if peak > 0 else Decimal(0)
        yield _labelled(GaugeMetricFamily, "tradebus_portfolio_equity",
                        "Equity in the account currency at the last prices.", ["currency"],
                        [((base,), equity)])
        yield _labelled(GaugeMetricFamily, "tradebus_portfolio_equity_peak",
                        "Highest equity seen (samples and scrapes).", ["currency"],
                        [((base,), peak)])
        yield _gauge("tradebus_portfolio_drawdown_ratio",
                     "Fall of equity from its peak, as a fraction of the peak.", drawdown)
        yield _labelled(GaugeMetricFamily, "tradebus_portfolio_balance", "Book balances.",
                        ["currency"], [((k,), v) for k, v in portfolio.balances().items()])
        realized, unrealized = [], []
        for instrument in graph.instruments:
            key = (instrument.instrument_id, instrument.quote_currency)
            realized.append((key, portfolio.realized_pnl(instrument_id=key[0])))
            unrealized.append((key, portfolio.unrealized_pnl(instrument_id=key[0])))
        yield _labelled(GaugeMetricFamily, "tradebus_portfolio_realized_pnl",
                        "Gross realized pnl (quote currency).", ["instrument", "currency"],
                        realized)
        yield _labelled(GaugeMetricFamily, "tradebus_portfolio_unrealized_pnl",
                        "Pnl of closing open positions at the last price (quote currency).",
                        ["instrument", "currency"], unrealized)
        positions = portfolio.positions()
        yield _gauge("tradebus_positions_open", "Open positions.", len(positions))
        yield _labelled(GaugeMetricFamily, "tradebus_position_quantity",
                        "Signed open quantity.", ["strategy", "instrument"],
                        [((p.strategy_id, p.instrument_id), p.quantity) for p in positions])
        exposure: dict[tuple[str, str], Decimal] = {}
        for position in positions:
            traded = graph.instruments.get(position.instrument_id)
            mark = graph.cache.last_price(position.instrument_id)
            if traded is None or mark is None:
                continue  # unpriced: counted by the portfolio's own statistics
            key = (position.instrument_id, traded.quote_currency)
            exposure[key] = (exposure.get(key, Decimal(0))
                             + position.quantity * Decimal(repr(mark)) * traded.multiplier)
        yield _labelled(GaugeMetricFamily, "tradebus_position_exposure",
                        "Signed open quantity x last price (quote currency).",
                        ["instrument", "currency"], exposure.items())

    # -- market data, venues, taps --------------------------------------------------------

    def _probe(self, graph: TradingGraph) -> GraphProbe:
        # One probe per bus: a second collector on the node reads the first one's.
        probe = graph.bus.probe
        if probe is None:
            probe = GraphProbe(self._sample_every)
            graph.bus.set_probe(probe)
        if not isinstance(probe, GraphProbe):  # someone else's: the families stay, empty
            probe = GraphProbe(self._sample_every)
        return probe

    def _market_data(self, node: TradingNode) -> Iterator[Any]:
        runner = node.runner
        if runner is not None and self._window_on is not runner:
            runner.watch_data(self._window.watch)
            self._window_on = runner
        feeds: dict[str, tuple[str, Any]] = {}  # instrument -> (feed name, its bar type)
        for index, feed in enumerate(node.feeds):
            feeds[feed.instrument_id] = (f"{index}-{feed.instrument_id}", feed.bar_type)
        for message in self._window.take():
            kind = _DATA_KINDS[type(message)]
            source = feeds.get(instrument_of(message))
            # Bars the engine built itself (aggregation) share the topic family: only the
            # feed's own bar type measures the feed.
            if source is None or (kind == "bar" and message.bar_type != source[1]):
                continue
            self._latency.observe((source[0], kind),
                                  (message.ts_init - message.ts_event) * _NS)
        yield self._latency.family(
            "tradebus_market_data_latency_seconds",
            "Source time to engine time (ts_init - ts_event) of each feed's items, "
            "engine-clock seconds.", ["feed", "kind"])
        yield _counter("tradebus_market_data_inputs_overwritten_total",
                       "Market data inputs past the window's capacity between two scrapes "
                       "(left out of the latency histogram).", self._window.overwritten)

    def _feeds(self, snapshot: NodeStatistics) -> Iterator[Any]:
        feed_stats = snapshot.feeds.items()
        yield _labelled(CounterMetricFamily, "tradebus_feed_items_delivered",
                        "Items a feed handed to the inbox.", ["feed"],
                        [((n,), s["delivered"]) for n, s in feed_stats if "delivered" in s])
        yield _labelled(GaugeMetricFamily, "tradebus_feed_max_lag_seconds",
                        "Largest engine time at delivery minus item time, so far.", ["feed"],
                        [((n,), s["max_lag_ns"] * _NS) for n, s in feed_stats
                         if "max_lag_ns" in s])
        # Live feeds report their connection's troubles under these keys (replay feeds
        # have none); the data bridges (actors) count the subscriptions a venue refused.
        yield _labelled(CounterMetricFamily, "tradebus_feed_reconnects",
                        "Reconnections of a feed's adapter.", ["feed"],
                        [((n,), s["reconnects"]) for n, s in feed_stats if "reconnects" in s])
        yield _labelled(CounterMetricFamily, "tradebus_feed_errors",
                        "Wire messages a feed could not use, and its other errors.",
                        ["feed", "kind"],
                        [((n, kind), s[field]) for n, s in feed_stats
                         for field, kind in _FEED_ERRORS if field in s])
        yield _labelled(CounterMetricFamily, "tradebus_market_data_subscriptions_failed",
                        "Subscriptions a venue's market data client refused.", ["venue"],
                        [((a.statistics["venue"],), a.statistics["failed"])
                         for a in snapshot.actors if a.statistics is not None
                         and a.kind == "MarketDataBridge"])

    def _venues(self, snapshot: NodeStatistics) -> Iterator[Any]:
        # Venue statistics differ by adapter; the fields read here are the execution
        # bridge's (live adapters). The simulated venue has no connection to lose.
        reconnects, errors = [], []
        for venue, stats in snapshot.venues.items():
            if "reconnects" in stats:
                reconnects.append(((venue,), stats["reconnects"]))
            for field, kind in (("outcome_unknown", "outcome_unknown"),
                                ("refused_unavailable", "unavailable")):
                if field in stats:
                    errors.append(((venue, kind), stats[field]))
        # 1 while commands may leave (the bridge's gate: connected and reconciled); an
        # in-process venue (the simulator) has no connection to lose and counts as 1.
        yield _labelled(GaugeMetricFamily, "tradebus_venue_connected",
                        "1 while the venue is connected and reconciled, 0 otherwise.",
                        ["venue"],
                        [((venue,), stats.get("gate_open", True))
                         for venue, stats in snapshot.venues.items()])
        yield _labelled(CounterMetricFamily, "tradebus_venue_reconnects",
                        "Reconnections of a venue's adapter.", ["venue"], reconnects)
        yield _labelled(CounterMetricFamily, "tradebus_venue_errors",
                        "Requests whose outcome is unknown or that a down venue refused.",
                        ["venue", "kind"], errors)

    def _taps(self, snapshot: NodeStatistics) -> Iterator[Any]:
        # Open taps only (a closed one's series ends); taps sharing a name are summed, so
        # two observers naming theirs alike cannot make a duplicate series.
        taps = [t for t in snapshot.taps if not t.closed]
        for name, kind, doc, field in (
            ("tradebus_tap_received", CounterMetricFamily, "Messages offered.", "received"),
            ("tradebus_tap_delivered", CounterMetricFamily, "Messages taken.", "delivered"),
            ("tradebus_tap_dropped", CounterMetricFamily, "Messages dropped (full).",
             "dropped"),
            ("tradebus_tap_buffered", GaugeMetricFamily, "Messages waiting.", "buffered"),
        ):
            totals: dict[tuple[str, ...], int] = {}
            for tap in taps:
                totals[(tap.name,)] = totals.get((tap.name,), 0) + getattr(tap, field)
            yield _labelled(kind, name, doc, ["tap"], totals.items())


def _venue_of(graph: TradingGraph, instrument_id: str) -> str:
    instrument = graph.instruments.get(instrument_id)
    return instrument.venue if instrument is not None else instrument_id.rpartition(".")[2]


def _counter(name: str, documentation: str, value: float | int) -> CounterMetricFamily:
    return CounterMetricFamily(name.removesuffix("_total"), documentation, value=value)


def _gauge(name: str, documentation: str, value: float | int | bool | Decimal) -> Any:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _labelled(
    family_type: Callable[..., Any],
    name: str,
    documentation: str,
    labels: list[str],
    series: Iterable[tuple[tuple[str, ...], float | int | bool | Decimal]],
) -> Any:
    family = family_type(name, documentation, labels=labels)
    for key, value in sorted(series, key=lambda item: item[0]):
        family.add_metric(list(key), float(value))
    return family

