"""The edges of tradebus: recorded data, the simulated venue, and live venue adapters."""
