"""A fake TWS / IB Gateway speaking the TWS socket protocol, for the IBKR adapter's tests.

`FakeTws` listens on 127.0.0.1 (a free port) inside the test's event loop and is driven
by the real `ib_async.IB` client. It speaks server version 157 or 178 (what a current
gateway negotiates); the layouts that differ between them are in `messages`.

The protocol subset:

- Handshake: the client sends raw `API\\0` then a framed `v157..178`; the fake answers one
  frame of two fields (server version, connection time), reads startApi (71), then sends
  managedAccounts (15), nextValidId (9) and the usual 2104/2106 farm warnings.
- Every request `IB.connectAsync` syncs is answered: positions (61 -> 61*, 62), open
  orders (5 -> 5/3 pairs, 53), completed orders (99 -> 101 for every closed order, 102),
  account updates (6 -> 6*, 54), sub-account updates (76 -> 74),
  executions (7 -> 11/59 pairs, 55).
- Contract details (9 -> 10*, 52) of a stock on SMART, an FX pair on IDEALPRO and a future
  by expiry; market data (1: tickPrice with size, exactly 7 fields), real-time bars (50),
  historical bars (20 -> 17, epoch-second dates).
- Orders: placeOrder (3) answers openOrder then orderStatus (carrying the placing client
  id); the same order id again modifies; cancelOrder (4) answers orderStatus Cancelled
  and error 202, or 10147 for an unknown order. Executions send execDetails, orderStatus,
  then commissionReport (openOrder always came first: ib_async matches fills by permId).
  Validation errors: 434 zero size, 110 off-tick price (lmtPrice, auxPrice,
  trailStopPrice, lmtPriceOffset), 201 off-increment size, 387 an order type other than
  MKT, LMT, STP, STP LMT, MIT, LIT, TRAIL, TRAIL LIMIT, 321 a term the type needs missing
  (MIT/LIT auxPrice, LIT lmtPrice, a trailing amount or percent, TRAIL LIMIT's
  lmtPriceOffset). placeOrder is read by walking its fields as ib_async writes them
  (`place_order`), not by fixed offsets: they move with the version and optional blocks.
  One the walk cannot read gets 321 and lands in `unreadable`, which fails `wait_until`.
- Order types: MIT / LIT trigger when the trade reaches auxPrice from above (buy) or below
  (sell), then fill as a market / a limit; TRAIL / TRAIL LIMIT ratchet their stop with
  each trade (offset auxPrice, or trailingPercent of the price, the stop rounded to the
  tick away from the price), trigger like a stop, then fill as a market / as a limit at
  the stop -/+ lmtPriceOffset. openOrder reports the current trailStopPrice.
- transmit False: the order is held at the gateway, the client told nothing, until an
  order of its family (itself again, or a child) is placed with transmit True; then the
  topmost held ancestor and all its held descendants are sent, in the order placed.
- Attached orders (parentId): PreSubmitted and never filled until the parent fills
  completely, then Submitted (openOrder + orderStatus). A parent cancelled (by the client,
  the gateway or its OCA group) cancels its held and waiting children (202). A child of
  an unknown or cancelled parent is refused with 10006 "Missing parent order.".
- OCA groups (ocaGroup per account): a member's fill applies ocaType: 1 cancels the other
  open members (202, "OCA group member filled"), 2 and 3 (and 0, which the gateway takes
  and reports as 3) take the filled shares off the others' size (openOrder + orderStatus;
  one left with nothing is cancelled). Children of one parent without an ocaGroup of
  their own form an implicit type-1 group, as a bracket's take-profit and stop-loss do.
- reqCurrentTime (49) is answered in turn: a test awaits it as a barrier (everything
  the fake wrote before has then been handled).

Test controls on `FakeTws`: `trade_through` (fill working orders a price reaches, fully
or at most `max_quantity`), `fill`, `working_orders`, `held_orders`, `children_of`,
`order_by_ref`, `reject_next` (the next new order gets that error code),
`hold_commissions`/`release_commissions`, `cancel_by_gateway`, `send_error`,
`drop_connections`, `refuse_connections`/`accept_connections`, `push_quote`,
`push_trade`, `push_bar`, `push_raw`, `historical_bars`, `wait_until`, `on_request` (a
callback as each request arrives: a benchmark stamps placeOrder with it).

ib_async logs and drops a message it cannot decode: `decode_error_guard` fails the test
on any such record.
"""

from tests.fakes.tws.guard import DecodeErrorGuard, decode_error_guard
from tests.fakes.tws.model import ContractSpec, FakeExecution, FakeOrder, default_contracts
from tests.fakes.tws.place_order import PlaceOrderRequest, parse_place_order
from tests.fakes.tws.server import MISSING_PARENT, SUPPORTED_VERSIONS, FakeTws, Rejection

__all__ = (
    "MISSING_PARENT",
    "SUPPORTED_VERSIONS",
    "ContractSpec",
    "DecodeErrorGuard",
    "FakeExecution",
    "FakeOrder",
    "FakeTws",
    "PlaceOrderRequest",
    "Rejection",
    "decode_error_guard",
    "default_contracts",
    "parse_place_order",
)
