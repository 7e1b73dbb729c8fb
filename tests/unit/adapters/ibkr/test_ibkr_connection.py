"""Reconnect backoff: exponential, capped, jittered from a seed (so runs repeat)."""

from __future__ import annotations

from adapters.ibkr import Backoff, BackoffConfig, IbkrConnection, IbkrConnectionConfig


def test_delays_grow_then_cap_within_the_jitter() -> None:
    backoff = Backoff(BackoffConfig(initial_s=1.0, maximum_s=8.0, factor=2.0, jitter=0.1))

    delays = [backoff.delay(attempt) for attempt in range(6)]

    for delay, base in zip(delays, (1, 2, 4, 8, 8, 8), strict=True):
        assert base * 0.9 <= delay <= base * 1.1


def test_same_seed_same_delays_other_seed_other_delays() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(BackoffConfig(seed=seed))
        return [backoff.delay(attempt) for attempt in range(4)]

    assert delays(5) == delays(5)
    assert delays(5) != delays(6)


def test_no_jitter_is_exact() -> None:
    backoff = Backoff(BackoffConfig(initial_s=0.5, jitter=0.0))

    assert [backoff.delay(a) for a in range(3)] == [0.5, 1.0, 2.0]


def test_each_connection_counts_only_its_own_decode_errors() -> None:
    first = IbkrConnection(IbkrConnectionConfig(client_id=3), name="IBKR")
    second = IbkrConnection(IbkrConnectionConfig(client_id=3), name="IBKR")

    first.ib.client.decoder.interpret(["1", "6", "1", "4"])  # a tickPrice 3 fields short

    assert first.statistics().malformed_messages == 1
    assert second.statistics().malformed_messages == 0


def test_a_failing_handler_is_counted_and_the_next_emit_still_handled() -> None:
    connection = IbkrConnection(IbkrConnectionConfig(), name="IBKR")
    seen: list[int] = []

    def handler(req_id: int, code: int, text: str, contract: object) -> None:
        seen.append(req_id)
        if req_id == 1:
            raise ValueError("bad message")

    connection.listen(connection.ib.errorEvent, handler)
    connection.ib.errorEvent.emit(1, 2104, "farm OK", None)
    connection.ib.errorEvent.emit(2, 2104, "farm OK", None)

    assert seen == [1, 2]
    assert connection.statistics().handler_errors == 1
