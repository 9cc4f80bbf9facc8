"""AudioStream: a live call's audio to and from the application's agent (FreeClimb's gRPC
contract, and WebSocket as a percl extension). See docs/AUDIOSTREAM.md."""
