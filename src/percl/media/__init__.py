"""Audio: media probing now; codecs, TTS and mixing grow here with the media work."""
