"""One live leg: the CallSession (session.py) and what it is made of, one concept a module.

Other layers and services import the session from here (`from percl.engine.session import
CallSession`); the modules inside import each other directly.
"""

from percl.engine.session.session import ApiUpdate, CallSession, ChildDialer, ParentEnded, Shutdown

__all__ = ["ApiUpdate", "CallSession", "ChildDialer", "ParentEnded", "Shutdown"]
