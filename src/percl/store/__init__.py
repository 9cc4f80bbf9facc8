"""Persistence: the async Store protocol (base.py) and its SQLite implementation."""
