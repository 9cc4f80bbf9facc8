"""SIP trunks, sans-I/O: messages, SDP, RTP, transactions and dialogs as pure code.

Nothing in this package opens a socket or reads a clock except the asyncio shell (`udp.py`): the
core modules take bytes and clock values in and hand bytes and actions out (h11 style), so the
tests drive them with a fake clock and in-memory peers. See docs/DECISIONS.md, "Issue 15: SIP".
"""
