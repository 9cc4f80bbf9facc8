"""The simulated network's `audio` fidelity: real 8 kHz frames on a 20 ms media clock.

The symbolic fidelity (the package above) carries words and key events with modelled durations;
this one carries audio: TTS and decoded files played to phones (session.py), phones that speak
and press keys as frames (voice.py), conferences mixed frame by frame (mixer.py), and the
platform's ear (ear.py: DTMF, voice activity and answering-machine detection on what phones
send). One media clock per network (clock.py) drives every leg's frames (plane.py). The engines
(TTS, file fetching and decoding, ASR) come in through an AudioKit (kit.py).
"""

from percl.telephony.sim.audio.kit import AudioKit, AudioUnavailable

__all__ = ["AudioKit", "AudioUnavailable"]
