"""Phone networks implementing the engine's Telephony and NumberInventory ports.

`sim` is the in-process simulated network and the media hub; `sip` (SIP trunks) and `webrtc`
(browser phones) bring real phones in as its external lines (sim/lines.py).
"""
