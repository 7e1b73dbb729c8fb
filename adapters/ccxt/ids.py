"""The exchange's client order ids, derived from the engine's so a submit is idempotent.

Binance takes `newClientOrderId` of 1 to 36 characters of `[.A-Za-z:/0-9_-]`. The
engine's id is used as it is when it fits (so an order placed before a restart is
found by the engine's id alone); otherwise a stable digest of it. A cancel-replace's
leg n > 0 appends `.r<n>` (cut to fit), so every leg has an id of its own.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ("exchange_client_id",)

_ALLOWED = re.compile(r"^[.A-Za-z:/0-9_-]{1,36}$")
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
