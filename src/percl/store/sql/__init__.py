"""The SQL store: SqlStore (store.py), its table gateways (one per concept) and its execution
strategies (executor.py; SQLite's own is store/sqlite_executor.py)."""
