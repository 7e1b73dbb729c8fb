"""The core actors: market data, risk, order manager, portfolio."""
