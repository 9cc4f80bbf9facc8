"""percl.testing: the public test kit (FakeClock, scripted phones, webhook capture, assertions)."""

from percl.testing.clock import FakeClock, WorkTracker

__all__ = ["FakeClock", "WorkTracker"]
