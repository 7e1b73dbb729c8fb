"""Research documents in the study storage file."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.research.store import DocumentStore


def test_document_store_saves_lists_and_loads(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "studies.sqlite")

    first = store.save("stress", "sma", {"paths": 10, "quantiles": [1.5, None]})
    second = store.save("walk-forward", "sma", {"splits": []})

    assert [(i, k, n) for i, k, n, _ in store.list()] == [
        (first, "stress", "sma"), (second, "walk-forward", "sma")]
    assert [i for i, *_ in store.list("stress")] == [first]
    assert store.load(first) == {"paths": 10, "quantiles": [1.5, None]}
    with pytest.raises(KeyError):
        store.load(99)
