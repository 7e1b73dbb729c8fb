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
  Validation errors: 434 zero size, 110 off-tick price, 201 off-increment size.
- reqCurrentTime (49) is answered in turn: a test awaits it as a barrier (everything
  the fake wrote before has then been handled).

Test controls on `FakeTws`: `trade_through` (fill working orders a price reaches, fully
or at most `max_quantity`), `fill`, `reject_next` (the next new order gets that error
code), `hold_commissions`/`release_commissions`, `cancel_by_gateway`, `send_error`,
`drop_connections`, `refuse_connections`/`accept_connections`, `push_quote`,
`push_trade`, `push_bar`, `push_raw`, `historical_bars`, `wait_until`, `on_request` (a
callback as each request arrives: a benchmark stamps placeOrder with it).

ib_async logs and drops a message it cannot decode: `decode_error_guard` fails the test
on any such record.
"""

from tests.fakes.tws.guard import DecodeErrorGuard, decode_error_guard
from tests.fakes.tws.model import ContractSpec, FakeExecution, FakeOrder, default_contracts
from tests.fakes.tws.server import SUPPORTED_VERSIONS, FakeTws, Rejection

__all__ = (
    "SUPPORTED_VERSIONS",
    "ContractSpec",
    "DecodeErrorGuard",
    "FakeExecution",
    "FakeOrder",
    "FakeTws",
    "Rejection",
    "decode_error_guard",
    "default_contracts",
)
