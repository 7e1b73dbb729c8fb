"""Configuration: frozen Structs decoded from TOML, with errors that name file and field.

Every config Struct derives from `Config` (frozen, keyword-only, unknown fields
forbidden), so a typo in a config file is an error before anything runs, never a
silently ignored setting. msgspec's validation errors are re-raised as `ConfigError`
with the JSON-path of the field (`$.risk.max_order_notional`) and the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from engine.errors import ConfigError

__all__ = (
    "ENV_PREFIX",
    "Config",
    "Secret",
    "apply_env_overrides",
    "convert_config",
    "decode_config",
    "load_config",
    "secret_from_env",
)

ENV_PREFIX = "TRADEBUS__"
"""`TRADEBUS__RUNTIME__SPEED=60` overrides `[runtime] speed` (a TOML value: numbers,
booleans and quoted strings; anything unparseable is taken as a plain string)."""

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


class Secret:
    """A secret value (an API key) that never shows itself in a repr, a log or the journal."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: call this only where it is handed to the venue client."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def secret_from_env(variable: str, *, environ: Mapping[str, str] | None = None) -> Secret:
    """Read a secret from the environment variable a config names (never from the file)."""
    value = (os.environ if environ is None else environ).get(variable)
    if not value:
        raise ConfigError(f"env.{variable}", "the environment variable is not set or empty")
    return Secret(value)


def apply_env_overrides(
    data: dict[str, Any],
    environ: Mapping[str, str],
    *,
    prefix: str = ENV_PREFIX,
    other_sections: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Return `data` with `TRADEBUS__SECTION__KEY=value` variables merged in (sorted order).

    One environment serves every command: a variable for a section this config does not
    have but another command's does (`other_sections`: `TRADEBUS__API__PORT` while a
    backtest loads) is left to that command. Any other unknown section still fails
    decoding, naming it: a typo is never ignored.
    """
    merged = dict(data)
    for name in sorted(environ):
        if not name.startswith(prefix):
            continue
        path = [part.lower() for part in name[len(prefix):].split("__") if part]
        if not path or path[0] in other_sections:
            continue
        raw = environ[name]
        try:
            value: Any = msgspec.toml.decode(f"value = {raw}")["value"]
        except msgspec.DecodeError:
            value = raw
        table = merged
        for key in path[:-1]:
            child = table.get(key)
            child = dict(child) if isinstance(child, dict) else {}
            table[key] = child
            table = child
        table[path[-1]] = value
    return merged


def decode_config(
    data: bytes | str,
    config_type: type[T],
    *,
    file: str | None = None,
    environ: Mapping[str, str] | None = None,
    other_sections: frozenset[str] = frozenset(),
) -> T:
    """Decode TOML into `config_type`, with `TRADEBUS__...` overrides from `environ`
    (except those of `other_sections`: see `apply_env_overrides`).

    Raises:
        ConfigError: naming the file and the field, for syntax and validation errors.
    """
    try:
        raw = msgspec.toml.decode(data)
    except msgspec.DecodeError as error:
        raise ConfigError("$", f"not valid TOML: {error}", file=file) from error
    if environ:
        raw = apply_env_overrides(raw, environ, other_sections=other_sections)
    try:
        return msgspec.convert(raw, type=config_type)
    except msgspec.ValidationError as error:
        raise _config_error(error, file=file, prefix="$") from error


def convert_config(
    value: Any, config_type: type[T], *, file: str | None = None, path: str = "$"
) -> T:
    """Convert already-decoded data (e.g. a strategy's params table) into `config_type`."""
    try:
        return msgspec.convert(value, type=config_type, strict=False)
    except msgspec.ValidationError as error:
        raise _config_error(error, file=file, prefix=path) from error


def load_config(
    path: str | Path,
    config_type: type[T],
    *,
    environ: Mapping[str, str] | None = None,
    other_sections: frozenset[str] = frozenset(),
) -> T:
    """Read and decode a TOML config file (`environ`: apply `TRADEBUS__...` overrides)."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError("$", f"cannot read the file: {error.strerror}", file=file) from error
    return decode_config(data, config_type, file=file, environ=environ,
                         other_sections=other_sections)
