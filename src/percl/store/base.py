"""The Store protocol, re-exported for the API layer (it is declared in `percl.engine.ports`), and
StoreClosed, shared by both stores: here so MemoryStore need not import the SQLite one."""

from percl.domain.records import Blob
from percl.engine.ports import CallFilter, LogFilter, Store
from percl.errors import Conflict, PerclError

__all__ = ["CallFilter", "LogFilter", "Store", "StoreClosed", "alias_taken"]


#: How many of the oldest log lines one `prune_logs` call looks at: a bounded write. Deleting a
#: line costs ~10 µs (table and two indexes, file database), so a full batch is ~10 ms on the loop.
PRUNE_BATCH = 1_000


class StoreClosed(PerclError):
    """A store method was called before `open()` or after `close()` (a wiring bug in app.py)."""


def alias_taken(blob: Blob) -> Conflict:
    """The 409 both stores raise for a blob whose alias another blob of its account holds."""
    return Conflict(f"Another blob of this account already has the alias {blob.alias!r}",
                    details={"field": "alias"})
