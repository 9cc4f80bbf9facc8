"""The browser softphone's network: WebRTC legs (aiortc) as an external line of the simulated network.

token.py checks FreeClimb's WebRTC JWT, peer.py answers a page's offer, audio.py carries its audio
at 8 kHz, line.py is the ExternalLine (placing calls, being called), socket.py the page's
signalling WebSocket (mounted by app.py at /webrtc/v1).
"""

from percl.telephony.webrtc.line import WebRtcLine
from percl.telephony.webrtc.peer import offer_addresses
from percl.telephony.webrtc.socket import webrtc_routes
from percl.telephony.webrtc.token import TokenGate

__all__ = ["TokenGate", "WebRtcLine", "offer_addresses", "webrtc_routes"]
