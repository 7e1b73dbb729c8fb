// The tradebus dashboard: REST for state, the WebSocket for "something changed".
// The token (typed in, or passed as #token=... in the URL) stays in sessionStorage.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { equity: [[], []], drawdown: [[], []], charts: {}, socket: null, timer: null };

function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) { sessionStorage.setItem("tradebus-token", fromHash); }
  return sessionStorage.getItem("tradebus-token") || "";
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token()) { headers.Authorization = `Bearer ${token()}`; }
  const response = await fetch(path, { ...options, headers });
  const body = await response.json();
  if (!response.ok) { throw new Error(`${response.status}: ${body.detail}`); }
  return body;
}

function rows(table, items, cells) {
  const body = $(`${table} tbody`);
  body.replaceChildren(...items.map((item) => {
    const row = document.createElement("tr");
    for (const value of cells(item)) {
      const cell = document.createElement("td");
      cell.textContent = value === null || value === undefined ? "" : String(value);
      row.appendChild(cell);
    }
    return row;
  }));
}

function chart(id, label, data) {
  const element = $(id);
  if (!state.charts[id]) {
    state.charts[id] = new uPlot({
      width: Math.max(400, element.clientWidth || 800), height: 200,
      scales: { x: { time: true } },
      series: [{}, { label, stroke: id.includes("draw") ? "#c33" : "#36c", width: 1.5 }],
    }, data, element);
  } else {
    state.charts[id].setData(data);
  }
}

function curves(points) {
  const xs = [], equity = [], drawdown = [];
  let peak = -Infinity;
  for (const point of points) {
    const value = Number(point.equity);
    peak = Math.max(peak, value);
    xs.push(point.ts / 1e9); equity.push(value); drawdown.push(peak ? (value - peak) / peak : 0);
  }
  return { equity: [xs, equity], drawdown: [xs, drawdown] };
}

async function refresh() {
  try {
    const [status, portfolio, positions, orders, fills] = await Promise.all([
      api("/api/v1/status"), api("/api/v1/portfolio"), api("/api/v1/positions"),
      api("/api/v1/orders?open=true&limit=50"), api("/api/v1/fills?limit=20"),
    ]);
    $("#mode").textContent = `${status.mode} · session ${status.session} · ${status.state}`;
    $("#trading-state").textContent = status.trading_state;
    $("#equity").textContent = portfolio.equity;
    rows("#status", [
      ["engine time", new Date(status.engine_ts / 1e6).toISOString()],
      ["uptime", `${status.uptime_s} s`], ["ready", status.ready],
      ["bus queue", status.queues.bus], ...status.actors.map((a) => [a.id, a.state]),
    ], (pair) => pair);
    const points = [...portfolio.equity_curve, { ts: status.engine_ts, equity: portfolio.equity }];
    const series = curves(points);
    chart("#equity-chart", "equity", series.equity);
    chart("#drawdown-chart", "drawdown", series.drawdown);
    rows("#positions", positions.items, (p) => [p.strategy_id, p.instrument_id, p.side,
      p.quantity, p.average_entry_price, p.realized_pnl]);
    rows("#orders", orders.items, (o) => [o.client_order_id, o.strategy_id, o.side,
      o.order_type, o.quantity, o.price, o.status]);
    rows("#fills", fills.items, (f) => [f.client_order_id, f.strategy_id, f.side,
      f.last_quantity, f.last_price, f.commission]);
  } catch (error) {
    $("#message").textContent = String(error);
  }
}

function scheduleRefresh() {
  // Events come in bursts (a fill is several events): one refresh per burst.
  if (state.timer === null) {
    state.timer = setTimeout(() => { state.timer = null; refresh(); }, 100);
  }
}

function follow() {
  if (!token() || state.socket) { return; }
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/events`;
  const socket = state.socket = new WebSocket(url, ["bearer", token()]);
  socket.onopen = () => {
    $("#stream").textContent = "stream: live";
    socket.send(JSON.stringify({ op: "subscribe", patterns: [
      "events.order.*", "events.position.*", "events.account.*", "system.risk"] }));
  };
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type === "event" || frame.type === "dropped") { scheduleRefresh(); }
  };
  socket.onclose = () => {
    $("#stream").textContent = "stream: off";
    state.socket = null;
    setTimeout(follow, 2000);
  };
}

async function setTradingState(value) {
  try {
    await api("/api/v1/trading-state", { method: "PUT",
      body: JSON.stringify({ state: value, reason: "dashboard" }) });
    $("#message").textContent = "";
  } catch (error) {
    $("#message").textContent = String(error);
  }
  refresh();
}

$("#token").value = token();
$("#token").addEventListener("change", (event) => {
  sessionStorage.setItem("tradebus-token", event.target.value);
  follow();
});
for (const button of document.querySelectorAll("button[data-state]")) {
  button.addEventListener("click", () => setTradingState(button.dataset.state));
}
refresh();
follow();
setInterval(refresh, 10000);  // a slow safety net; the stream drives updates
