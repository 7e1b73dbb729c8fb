"""The outside of tradebus: the command line, and (with the daemon) the REST/WebSocket API."""

__all__ = ()
