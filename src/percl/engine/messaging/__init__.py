"""SMS: the service (service.py), the carrier that delivers and receives (delivery.py) and the
sending rules and segment arithmetic (rules.py)."""

from percl.engine.messaging.service import MessagingService, MessagingSettings

__all__ = ["MessagingService", "MessagingSettings"]
