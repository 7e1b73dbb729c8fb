"""Research documents in SQLite, beside Optuna's tables: one row per command's result.

`tradebus optimize`, `walk-forward`, `validate`, `stress` and `portfolio` each add the
JSON document they also write as a file, so every result can be queried in one place:

    SELECT id, kind, name, json_extract(document, '$.mean_out_of_sample')
    FROM research_documents WHERE kind = 'validation';

The table lives in the study storage file (`studies.sqlite`) and never collides with
Optuna's tables. `created_ns` is the wall clock when it was saved (api code, not engine).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

__all__ = ("DocumentStore",)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS research_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    document TEXT NOT NULL
);
"""


class DocumentStore:
    """Append and read research documents; one short connection per call (no handle kept)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def save(self, kind: str, name: str, document: Any) -> int:
        """Store `document` (JSON-able) under `kind` and `name`; return its id."""
        text = json.dumps(document, default=str)
        connection = self._connect()
        try:
            with connection:
                cursor = connection.execute(
                    "INSERT INTO research_documents (kind, name, created_ns, document) "
                    "VALUES (?, ?, ?, ?)", (kind, name, time.time_ns(), text))
            return int(cursor.lastrowid or 0)
        finally:
            connection.close()

    def list(self, kind: str | None = None) -> list[tuple[int, str, str, int]]:
        """`(id, kind, name, created_ns)` of every document (of `kind`), oldest first."""
        connection = self._connect()
        try:
            sql = "SELECT id, kind, name, created_ns FROM research_documents"
            rows = (connection.execute(sql + " WHERE kind = ? ORDER BY id", (kind,))
                    if kind else connection.execute(sql + " ORDER BY id"))
            return [(int(a), str(b), str(c), int(d)) for a, b, c, d in rows]
        finally:
            connection.close()

    def load(self, document_id: int) -> Any:
        """The document with `document_id`, decoded; KeyError if there is none."""
        connection = self._connect()
        try:
            row = connection.execute("SELECT document FROM research_documents WHERE id = ?",
                                     (document_id,)).fetchone()
        finally:
            connection.close()
        if row is None:
            raise KeyError(document_id)
        return json.loads(row[0])
