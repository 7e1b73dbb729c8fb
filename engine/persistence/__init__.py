"""Storage on SQLite files: backtest results (the journal arrives with the daemon)."""

from engine.persistence.results import ResultStore, write_result_json

__all__ = ("ResultStore", "write_result_json")
