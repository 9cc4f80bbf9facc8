"""FreeClimb queues: the service (service.py), a queued leg's hold (members.py) and the member
lifecycle table (state.py)."""

from percl.engine.queue.service import QueueService

__all__ = ["QueueService"]
