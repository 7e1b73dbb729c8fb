"""The reference docs name every config field and every message type the code has.

`docs/reference/config.md` has one section per config Struct: a heading that ends with
the Struct's dotted path in backticks, then a `| field | type | default | meaning |`
table. `docs/reference/events.md` has one table per events module (its heading names
the module in backticks): `| tag | class | family | handler | fields | meaning |`.

Every cell except "meaning" is what the functions below render from the Structs, so a
field added, removed, retyped or given a new default without the docs fails here, and
the failure shows the row to write. The meanings are prose, written by hand.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from api.compose.settings import BacktestFileConfig, DaemonFileConfig
from engine.events.base import Command
from engine.events.codec import MESSAGE_TYPES
from engine.events.fills import PositionEvent
from engine.events.orders import OrderEvent
from engine.events.system import TimerFired
from strategies import MarketMakerConfig, RsiMeanReversionConfig, SmaCrossConfig

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reference"
CONFIG_DOC = DOCS / "config.md"
EVENTS_DOC = DOCS / "events.md"

CONFIG_ROOTS: tuple[type[msgspec.Struct], ...] = (BacktestFileConfig, DaemonFileConfig)
STRATEGY_CONFIGS: tuple[type[msgspec.Struct], ...] = (
    SmaCrossConfig, RsiMeanReversionConfig, MarketMakerConfig)
COMMON_MESSAGE_FIELDS = ("ts_event", "ts_init")
"""Every message has these; events.md states it once instead of in every row."""

_HEADING = re.compile(r"^#+ .*`(?P<path>[A-Za-z_][\w.]*\.[A-Za-z_]\w*)`\)?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR = re.compile(r"^:?-+:?$")
_NAME = re.compile(r"`([^`]+)`")


# -- reading the markdown ---------------------------------------------------------------------


def sections(text: str) -> dict[str, list[list[str]]]:
    """Map each heading's dotted path to the rows (cells, header left out) of its first table."""
    found: dict[str, list[list[str]]] = {}
    current: str | None = None
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or line.startswith("```"):
            if current is not None and found[current]:
                current = None
            continue
        heading = _HEADING.match(line)
        if heading is not None:
            current = heading.group("path")
            if current in found:
                raise ValueError(f"heading {current}: appears twice")
            found[current] = []
            continue
        if line.startswith("#"):
            current = None
            continue
        if current is None or not line.startswith("|"):
            if current is not None and found[current] and line.strip():
                current = None  # the table ended: later tables belong to no section
            continue
        cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip())[1:-1]]
        if all(_SEPARATOR.match(cell) for cell in cells):
            continue
        found[current].append(cells)
    return {path: rows[1:] for path, rows in found.items()}  # rows[0] is the header


def first_name(cell: str) -> str:
    """The first backticked name in a cell (`path` in "`path` (for CSV)")."""
    match = _NAME.search(cell)
    return match.group(1) if match else cell


def dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# -- rendering config cells -------------------------------------------------------------------


def _bounds(info: Any) -> str:
    words = [f"{sign} {getattr(info, name)}" for name, sign in
             (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
             if getattr(info, name, None) is not None]
    return " " + " and ".join(words) if words else ""


def _is_struct_like(info: mi.Type) -> bool:
    if isinstance(info, mi.UnionType):
        return all(isinstance(member, mi.StructType) for member in info.types)
    return isinstance(info, mi.StructType)


def config_type(info: mi.Type) -> str:
    """The type cell of a config field, in TOML words."""
    if isinstance(info, mi.UnionType):
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return " or ".join(config_type(member) for member in members)
    if isinstance(info, mi.StrType):
        return "string"
    if isinstance(info, mi.BoolType):
        return "boolean"
    if isinstance(info, mi.IntType):
        return "integer" + _bounds(info)
    if isinstance(info, mi.FloatType):
        return "float" + _bounds(info)
    if isinstance(info, mi.DecimalType):
        return "decimal"
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(f'`"{value}"`' for value in info.values)
    if isinstance(info, mi.EnumType):
        return "one of " + ", ".join(f'`"{member.value}"`' for member in info.cls)
    if isinstance(info, mi.AnyType):
        return "any"
    if isinstance(info, mi.StructType):
        return "table"
    if isinstance(info, mi.DictType):
        value = config_type(info.value_type)
        return "table" if value == "any" else f"table of {config_type(info.key_type)} to {value}"
    if isinstance(info, mi.ListType):
        if _is_struct_like(info.item_type):
            return "array of tables"
        return f"array of {config_type(info.item_type)}"
    raise TypeError(f"config type {info!r}: no rendering (add one to this test)")


def config_default(field: mi.Field) -> str:
    """The default cell: `required`, `unset` (None), `defaults` (a table) or the TOML value."""
    if field.required:
        return "required"
    value = field.default
    if value is msgspec.NODEFAULT:
        value = field.default_factory()
    if value is None:
        return "unset"
    if isinstance(value, msgspec.Struct):
        return "defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        return f'`"{value.value}"`'
    if isinstance(value, str | Decimal):
        return f'`"{value}"`'
    if isinstance(value, int):
        return f"`{value:_}`" if abs(value) >= 10_000 else f"`{value}`"
    if isinstance(value, float):
        return f"`{value!r}`"
    if isinstance(value, dict | list) and not value:
        return f"`{value!r}`"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    raise TypeError(f"default {value!r} of {field.name}: no rendering (add one to this test)")


def config_rows(cls: type[msgspec.Struct]) -> dict[str, tuple[str, str]]:
    """Field name (as written in TOML) -> (type cell, default cell), the tag field included."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    rows: dict[str, tuple[str, str]] = {}
    if info.tag_field is not None:
        rows[info.tag_field] = (f'`"{info.tag}"`', "required")
    for field in info.fields:
        rows[field.encode_name] = (config_type(field.type), config_default(field))
    return rows


def _structs_in(info: mi.Type) -> Iterator[type[msgspec.Struct]]:
    if isinstance(info, mi.StructType):
        yield info.cls
        for field in info.fields:
            yield from _structs_in(field.type)
    elif isinstance(info, mi.UnionType):
        for member in info.types:
            yield from _structs_in(member)
    elif isinstance(info, mi.ListType):
        yield from _structs_in(info.item_type)
    elif isinstance(info, mi.DictType):
        yield from _structs_in(info.value_type)


def config_structs() -> list[type[msgspec.Struct]]:
    """Every Struct a backtest or daemon file reaches, plus the shipped strategies' params."""
    found: dict[str, type[msgspec.Struct]] = {}
    for root in CONFIG_ROOTS:
        for cls in _structs_in(mi.type_info(root)):
            found.setdefault(dotted(cls), cls)
    for cls in STRATEGY_CONFIGS:
        found.setdefault(dotted(cls), cls)
    return [found[path] for path in sorted(found)]


# -- rendering event cells --------------------------------------------------------------------


def python_type(annotation: Any) -> str:
    """A field's type as a short Python annotation ("Decimal or None")."""
    if annotation is types.NoneType:
        return "None"
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(python_type(arg) for arg in typing.get_args(annotation))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{python_type(args[0])}, ...]"
        return f"tuple[{', '.join(python_type(arg) for arg in args)}]"
    if origin is typing.Literal:
        return " or ".join(f'"{arg}"' for arg in typing.get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    raise TypeError(f"annotation {annotation!r}: no rendering (add one to this test)")


def python_default(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f'"{value.value}"'
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def fields_cell(cls: type[msgspec.Struct]) -> str:
    """`name` type[ = default], for every field but the two every message has."""
    parts = []
    for field in msgspec.structs.fields(cls):
        if field.encode_name in COMMON_MESSAGE_FIELDS:
            continue
        text = f"`{field.encode_name}` {python_type(field.type)}"
        if field.default is not msgspec.NODEFAULT:
            text += f" = {python_default(field.default)}"
        parts.append(text)
    return ", ".join(parts) if parts else "(none)"


def family(cls: type) -> str:
    if issubclass(cls, Command):
        return "command"
    if issubclass(cls, OrderEvent):
        return "order event"
    if issubclass(cls, PositionEvent):
        return "position event"
    return "event"


def handler(cls: type) -> str:
    if cls is TimerFired:
        return "`on_timer`"
    return "`on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower() + "`"


def message_row(cls: type[msgspec.Struct]) -> list[str]:
    """The generated cells of a message's row: tag, class, family, handler, fields."""
    tag = cls.__struct_config__.tag
    return [f"`{tag}`", f"`{cls.__name__}`", family(cls), handler(cls), fields_cell(cls)]


# -- the tests --------------------------------------------------------------------------------


CONFIG_STRUCTS = config_structs()


@pytest.fixture(scope="module")
def config_sections() -> dict[str, list[list[str]]]:
    return sections(CONFIG_DOC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events_sections() -> dict[str, list[list[str]]]:
    return sections(EVENTS_DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("cls", CONFIG_STRUCTS, ids=dotted)
def test_config_reference_struct_fields_match_documented_rows(
    cls: type[msgspec.Struct], config_sections: dict[str, list[list[str]]]
) -> None:
    path = dotted(cls)
    assert path in config_sections, f"{CONFIG_DOC.name}: no section whose heading ends `{path}`"
    expected = config_rows(cls)
    documented = {first_name(row[0]): row for row in config_sections[path]}
    missing = [
        f"| `{name}` | {type_cell} | {default_cell} | ... |"
        for name, (type_cell, default_cell) in expected.items() if name not in documented
    ]
    assert not missing, f"{path}: rows to add:\n" + "\n".join(missing)
    extra = sorted(set(documented) - set(expected))
    assert not extra, f"{path}: documented fields the Struct does not have: {extra}"
    for name, (type_cell, default_cell) in expected.items():
        row = documented[name]
        assert len(row) == 4, f"{path}.{name}: expected 4 cells, got {row}"
        assert row[1:3] == [type_cell, default_cell], (
            f"{path}.{name}: expected type and default cells {[type_cell, default_cell]}, "
            f"documented {row[1:3]}"
        )
        assert row[3], f"{path}.{name}: the meaning is empty"


def test_config_reference_documents_no_struct_the_config_lacks(
    config_sections: dict[str, list[list[str]]],
) -> None:
    known = {dotted(cls) for cls in CONFIG_STRUCTS}
    stale = sorted(set(config_sections) - known)
    assert not stale, f"{CONFIG_DOC.name}: sections for Structs no config file reaches: {stale}"


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda cls: cls.__name__)
def test_events_reference_message_type_row_matches_struct(
    cls: type[msgspec.Struct], events_sections: dict[str, list[list[str]]]
) -> None:
    module = cls.__module__
    assert module in events_sections, f"{EVENTS_DOC.name}: no section whose heading ends `{module}`"
    expected = message_row(cls)
    rows = [row for row in events_sections[module] if row and row[0] == expected[0]]
    assert rows, f"{module}: row to add:\n| " + " | ".join(expected) + " | ... |"
    assert len(rows) == 1, f"{module}: tag {expected[0]} has {len(rows)} rows"
    row = rows[0]
    assert len(row) == 6, f"{expected[0]}: expected 6 cells, got {row}"
    assert row[:5] == expected, f"{expected[0]}: expected\n{expected}\ndocumented\n{row[:5]}"
    assert row[5], f"{expected[0]}: the meaning is empty"


def test_events_reference_lists_only_existing_tags(
    events_sections: dict[str, list[list[str]]],
) -> None:
    tags = {f"`{cls.__struct_config__.tag}`" for cls in MESSAGE_TYPES}
    modules = {cls.__module__ for cls in MESSAGE_TYPES}
    documented = [row[0] for module in modules for row in events_sections.get(module, [])]
    stale = sorted(set(documented) - tags)
    assert not stale, f"{EVENTS_DOC.name}: rows for tags MESSAGE_TYPES lacks: {stale}"


def test_docs_reference_sections_parse_tables_under_dotted_headings() -> None:
    text = "\n".join([
        "# Title",
        "## `[risk]` (`engine.actors.risk.RiskConfig`)",
        "Prose, then an example whose comment is no heading:",
        "```toml",
        "# a comment",
        "```",
        "| field | type | default | meaning |",
        "| --- | --- | --- | --- |",
        '| `a` | one of `"x"`, `"y"` | `1` | a \\| b |',
        "",
        "After the table: a later table belongs to no section.",
        "| x | y |",
        "| - | - |",
        "| not | this |",
        "## Other",
        "| c | d |",
        "| - | - |",
        "| e | f |",
    ])
    assert sections(text) == {
        "engine.actors.risk.RiskConfig": [["`a`", 'one of `"x"`, `"y"`', "`1`", "a \\| b"]],
    }


def test_docs_reference_renderers_describe_optional_and_bounded_fields() -> None:
    class Example(msgspec.Struct, kw_only=True):
        limit: typing.Annotated[int, msgspec.Meta(gt=0)] | None = None
        when: typing.Literal["a", "b"] = "a"
        rate: Decimal = Decimal("0.5")

    assert config_rows(Example) == {
        "limit": ("integer > 0", "unset"),
        "when": ('one of `"a"`, `"b"`', '`"a"`'),
        "rate": ("decimal", '`"0.5"`'),
    }
