"""The asyncio runtime every layer with long-lived work shares: task ownership and the real clock.

Outside `domain` on purpose: domain is vocabulary and does no I/O (no asyncio, no wall clock), while
the engine, adapters and apps run tasks and sleep.
"""
