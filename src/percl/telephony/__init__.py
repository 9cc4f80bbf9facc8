"""Phone networks implementing the engine's Telephony and NumberInventory ports.

`sim` is the in-process simulated network; SIP and WebRTC networks come later.
"""
