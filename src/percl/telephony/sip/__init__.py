"""SIP trunks: messages, SDP, RTP, transactions, dialogs and user agents as sans-I/O code, and the
asyncio shells that carry them.

Nothing in this package opens a socket or reads a clock except the shells: `udp.py` (the answering
UAS), `line.py` (the SIP trunk as an external line of the simulated network) and `media.py` (a
call's RTP). The cores take bytes and clock values in and hand bytes and actions out (h11 style),
so the tests drive them with a fake clock and in-memory peers. See docs/SIP.md and
docs/DECISIONS.md, "Issue 15".
"""
