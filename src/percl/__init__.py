"""percl: a self-hosted, FreeClimb-compatible voice platform."""

__version__ = "0.1.0"
