"""FreeClimb conferences: the service (service.py), its PerCL runners (commands.py), one room per
conference in use (room.py), a participant's hold on its leg (member.py), the ordered webhooks of a
room (outbox.py) and the lifecycle tables (state.py)."""

from percl.engine.conference.service import ConferenceService

__all__ = ["ConferenceService"]
