"""The simulated phone network: virtual phones with scripted behaviour (see network.py)."""

from percl.telephony.sim.inventory import SimInventory
from percl.telephony.sim.lines import ExternalLine, FarAudio, LineCall
from percl.telephony.sim.network import MediaProbe, SimNetwork

__all__ = ["ExternalLine", "FarAudio", "LineCall", "MediaProbe", "SimInventory", "SimNetwork"]
