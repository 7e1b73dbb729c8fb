"""tradebus engine: events, bus, actors, clocks, the graph and the backtest driver."""
