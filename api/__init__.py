"""The outside of tradebus: the command line, the composition root, the HTTP API.

    cli/       the `tradebus` command: one module per subcommand
    compose/   the composition root: config files in, the engine wired to adapters out
    http/      the Starlette app and Prometheus metrics (not in this version yet)
"""

__all__ = ()
