"""JSON out, with orjson: Structs and Decimals become JSON builtins on the way.

Decimals travel as strings (exact money, as in the journal), enums as their values.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
from starlette.responses import Response

__all__ = ("json_bytes", "json_response")


def json_bytes(content: Any) -> bytes:
    """Encode `content` (builtins, Structs, Decimals, enums) as JSON."""
    return orjson.dumps(msgspec.to_builtins(content))


def json_response(
    content: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(json_bytes(content), status_code=status, headers=headers,
                    media_type="application/json")
