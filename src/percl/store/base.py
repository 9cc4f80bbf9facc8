"""The Store protocol, re-exported for the API layer. It is declared in `percl.engine.ports`."""

from percl.engine.ports import CallFilter, LogFilter, Store

__all__ = ["CallFilter", "LogFilter", "Store"]
