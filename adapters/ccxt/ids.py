"""The exchange's client order ids, derived from the engine's so a submit is idempotent.

Binance takes `newClientOrderId` of 1 to 36 characters of `[.A-Za-z:/0-9_-]`. The
engine's id is used as it is when it fits (so an order placed before a restart is
found by the engine's id alone); otherwise a stable digest of it. A cancel-replace's
leg n > 0 appends `.r<n>` (cut to fit), so every leg has an id of its own.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ("engine_client_id", "exchange_client_id")

_ALLOWED = re.compile(r"^[.A-Za-z:/0-9_-]{1,36}$")
_LEG = re.compile(r"^(?P<base>.+)\.r[0-9]+$")
_MAX = 36


def exchange_client_id(client_order_id: str, leg: int = 0) -> str:
    """The exchange's client order id of leg `leg` of the engine's `client_order_id`."""
    base = client_order_id if _ALLOWED.match(client_order_id) else (
        "tb-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:24])
    if leg == 0:
        return base
    suffix = f".r{leg}"
    if len(base) + len(suffix) > _MAX:
        base = "tb-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:24]
    return base + suffix


def engine_client_id(exchange_id: str | None) -> str | None:
    """The engine's id behind an exchange client id the adapter made (a leg's suffix
    removed), for orders it has no record of (after a restart). A digest cannot be
    reversed and an id the adapter did not make is returned as it is."""
    if exchange_id is None:
        return None
    match = _LEG.match(exchange_id)
    return match.group("base") if match and not match.group("base").startswith("tb-") else (
        exchange_id)
