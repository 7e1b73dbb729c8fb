"""The checks every execution client must pass, in the spirit of trio's stream checks.

An adapter's test provides an `ExecutionHarness`: the client under test (built, not
running) and the few things only its fake venue can do: make the market trade through
a price, name prices that rest and prices that cross. It then runs every check of
`EXECUTION_CHECKS` against a fresh harness::

    @pytest.mark.parametrize("check", EXECUTION_CHECKS, ids=check_name)
    async def test_conformance(check: ExecutionCheck) -> None:
        async with make_harness() as harness:
            await check(harness)

A check sees only the port: the events the client delivered to its sink and the
reports its queries return, never an adapter's internals, so the simulated venue, ccxt
against an HTTP/WebSocket fake and IBKR against a TWS-socket fake run the same checks.
Each check runs the client itself (`run` in a task group of its own, cancelled at the
end), uses client order ids of its own (`cf-<check>-<n>`, so give each check a venue
that has not seen them) and filters what it reads by them, so other orders on the
account do nothing to it. Waits are bounded by the harness's `timeout`; a failed
expectation raises `ConformanceError`, which names what was expected and what came.

A harness usually builds its client with an `EventRecorder` as the sink and lets its
`events` and `wait_for` delegate to it; `wait_settled` is where a networked fake
flushes what it has sent (a simulated venue answers synchronously: a checkpoint will
do). The rules the checks hold a client to, beyond the port's docstrings:

- OrderAccepted comes before any fill of the order; fills of one order have distinct
  trade ids and add up to no more than its quantity.
- Expected refusals are events with a non-empty reason, never exceptions: a rejected
  submit (OrderRejected), a cancel or modify of an unknown order (OrderCancelRejected,
  OrderModifyRejected).
- A client order id is used once: submitting it again, while the order works or after
  it filled, never gives a second acceptance or a second fill (a venue that allows
  reuse after an order closed needs the adapter to refuse it).
- order_status answers by client order id alone, by venue order id alone, and by
  both, for open and closed orders; a rejected order's answer is None or REJECTED.
- fills_since lists the fills the stream delivered (matched by venue order id, since a
  trade history may carry no client id), with the same trade ids, sides, quantities
  and prices, oldest first.
"""

from engine.testing.conformance.checks import (
    EXECUTION_CHECKS,
    check_cancel_resting_order,
    check_cancel_unknown_order_is_rejected,
    check_duplicate_client_order_id_after_fill,
    check_duplicate_client_order_id_while_working,
    check_market_order_accepted_then_filled,
    check_marketable_limit_fills_at_or_better,
    check_modify_resting_order,
    check_modify_unknown_order_is_rejected,
    check_order_status_unknown_is_none,
    check_partial_fills,
    check_reject_off_increment_price,
    check_reject_zero_quantity,
    check_reports_consistent_with_events,
    check_resting_limit_fills_when_traded_through,
    check_run_reports_started,
)
from engine.testing.conformance.harness import (
    ConformanceError,
    EventRecorder,
    ExecutionCheck,
    ExecutionHarness,
    check_name,
    running,
)

__all__ = (
    "EXECUTION_CHECKS",
    "ConformanceError",
    "EventRecorder",
    "ExecutionCheck",
    "ExecutionHarness",
    "check_cancel_resting_order",
    "check_cancel_unknown_order_is_rejected",
    "check_duplicate_client_order_id_after_fill",
    "check_duplicate_client_order_id_while_working",
    "check_market_order_accepted_then_filled",
    "check_marketable_limit_fills_at_or_better",
    "check_modify_resting_order",
    "check_modify_unknown_order_is_rejected",
    "check_name",
    "check_order_status_unknown_is_none",
    "check_partial_fills",
    "check_reject_off_increment_price",
    "check_reject_zero_quantity",
    "check_reports_consistent_with_events",
    "check_resting_limit_fills_when_traded_through",
    "check_run_reports_started",
    "running",
)
