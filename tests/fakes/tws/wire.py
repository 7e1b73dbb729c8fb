"""The TWS socket framing: 4-byte big-endian length prefixes, fields ending in NUL.

Only the gateway's side lives here: read the client's greeting and its framed requests,
and write framed messages whose fields are formatted as TWS formats them (floats without
a trailing ".0" where IB sends integers would not matter to ib_async, which parses each
field by its type, so `str()` of the value is enough).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from decimal import Decimal

__all__ = ("Field", "encode_message", "read_frame", "read_greeting")

Field = str | int | float | Decimal | bool | None

_API_PREFIX = b"API\0"


def _text(value: Field) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def encode_message(fields: Iterable[Field]) -> bytes:
    """Frame `fields` as one message: length prefix, each field followed by NUL."""
    payload = "".join(f"{_text(field)}\0" for field in fields).encode()
    return struct.pack(">I", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> list[str]:
    """Read one framed message and split it into its fields.

    Raises:
        asyncio.IncompleteReadError: the client closed the connection.
    """
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    payload = (await reader.readexactly(length)).decode(errors="backslashreplace")
    fields = payload.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


async def read_greeting(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read `API\\0` and the framed `v<min>..<max>` (no trailing NUL); return (min, max).

    Raises:
        ValueError: the client did not open with the API greeting.
    """
    prefix = await reader.readexactly(len(_API_PREFIX))
    if prefix != _API_PREFIX:
        raise ValueError(f"greeting {prefix!r}: expected {_API_PREFIX!r}")
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    text = (await reader.readexactly(length)).decode()
    versions = text.split(" ", 1)[0].removeprefix("v")
    low, _, high = versions.partition("..")
    return int(low), int(high or low)
