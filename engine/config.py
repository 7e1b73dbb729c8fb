"""Configuration: frozen Structs decoded from TOML, with errors that name file and field.

Every config Struct derives from `Config` (frozen, keyword-only, unknown fields
forbidden), so a typo in a config file is an error before anything runs, never a
silently ignored setting. msgspec's validation errors are re-raised as `ConfigError`
with the JSON-path of the field (`$.risk.max_order_notional`) and the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from engine.errors import ConfigError

__all__ = ("Config", "convert_config", "decode_config", "load_config")

T = TypeVar("T")

_AT_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")


class Config(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Base of every configuration Struct."""


def _config_error(error: msgspec.ValidationError, *, file: str | None, prefix: str) -> ConfigError:
    match = _AT_PATH.match(str(error))
    reason = match.group("reason") if match else str(error)
    path = (match.group("path") if match else None) or "$"
    missing = _MISSING.match(reason)
    unknown = _UNKNOWN.match(reason)
    if missing:
        path = f"{path}.{missing.group('field')}"
        reason = "required field is missing"
    elif unknown:
        path = f"{path}.{unknown.group('field')}"
        reason = "unknown field (a typo?)"
    if prefix != "$":
        path = prefix + path[1:]
    return ConfigError(path, reason, file=file)


def decode_config(data: bytes | str, config_type: type[T], *, file: str | None = None) -> T:
    """Decode TOML into `config_type`.

    Raises:
        ConfigError: naming the file and the field, for syntax and validation errors.
    """
    try:
        return msgspec.toml.decode(data, type=config_type)
    except msgspec.ValidationError as error:
        raise _config_error(error, file=file, prefix="$") from error
    except msgspec.DecodeError as error:
        raise ConfigError("$", f"not valid TOML: {error}", file=file) from error


def convert_config(
    value: Any, config_type: type[T], *, file: str | None = None, path: str = "$"
) -> T:
    """Convert already-decoded data (e.g. a strategy's params table) into `config_type`."""
    try:
        return msgspec.convert(value, type=config_type, strict=False)
    except msgspec.ValidationError as error:
        raise _config_error(error, file=file, prefix=path) from error


def load_config(path: str | Path, config_type: type[T]) -> T:
    """Read and decode a TOML config file."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError("$", f"cannot read the file: {error.strerror}", file=file) from error
    return decode_config(data, config_type, file=file)
