"""PERCL_MEDIA and `percl serve --media`: the fidelity of the simulated network (issue 12)."""

from __future__ import annotations

import pytest

from percl.cli.flags import SERVE_FLAGS, flag_named
from percl.config import MediaFidelity, Settings, from_sources, resolve_media
from percl.errors import ConfigError


def test_audio_is_the_default_of_percl_serve() -> None:
    assert from_sources({}).media is MediaFidelity.AUDIO
    assert Settings().media == "audio"


@pytest.mark.parametrize("raw", ["symbolic", "SYMBOLIC", " symbolic "])
def test_symbolic_on_request(raw: str) -> None:
    assert from_sources({"PERCL_MEDIA": raw}).media is MediaFidelity.SYMBOLIC


def test_an_empty_variable_is_the_default() -> None:
    assert from_sources({"PERCL_MEDIA": ""}).media is MediaFidelity.AUDIO


def test_the_flag_wins_over_the_variable() -> None:
    s = from_sources({"PERCL_MEDIA": "symbolic"}, {"PERCL_MEDIA": "audio"})
    assert s.media is MediaFidelity.AUDIO


def test_unknown_value_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"PERCL_MEDIA='stereo': expected audio or symbolic"):
        from_sources({"PERCL_MEDIA": "stereo"})


@pytest.mark.parametrize("scale", ["0", "0.5", "2"])
def test_a_time_scale_turns_the_default_symbolic(scale: str) -> None:
    s = from_sources({"PERCL_MEDIA_TIME_SCALE": scale})
    assert s.media is MediaFidelity.SYMBOLIC and s.media_time_scale == float(scale)


def test_audio_with_a_time_scale_is_refused_in_one_clear_line() -> None:
    with pytest.raises(ConfigError) as info:
        from_sources({"PERCL_MEDIA": "audio", "PERCL_MEDIA_TIME_SCALE": "0"})
    message = str(info.value)
    assert message.startswith("PERCL_MEDIA=audio runs at real time only")
    assert "PERCL_MEDIA_TIME_SCALE=0" in message and "PERCL_MEDIA=symbolic" in message
    assert "\n" not in message


def test_audio_with_time_scale_one_is_fine() -> None:
    s = from_sources({"PERCL_MEDIA": "audio", "PERCL_MEDIA_TIME_SCALE": "1.0"})
    assert s.media is MediaFidelity.AUDIO


def test_resolve_media_takes_another_default() -> None:
    """The test kit's default is symbolic; the session switch makes it audio."""
    assert resolve_media(None, 1.0, MediaFidelity.SYMBOLIC) is MediaFidelity.SYMBOLIC
    assert resolve_media(None, 0.0, MediaFidelity.AUDIO) is MediaFidelity.SYMBOLIC
    assert resolve_media("audio", 1.0, MediaFidelity.SYMBOLIC) is MediaFidelity.AUDIO


def test_errors_about_the_flag_name_the_flag() -> None:
    overrides = {"PERCL_MEDIA": "loud"}
    with pytest.raises(ConfigError) as info:
        from_sources({}, overrides)
    assert flag_named(str(info.value), SERVE_FLAGS, overrides) == (
        "--media 'loud': expected audio or symbolic")


@pytest.mark.parametrize(("media", "scale", "words"), [
    ("audio", 1.0, "audio media (real frames"),
    ("symbolic", 0.0, "symbolic media, time scale 0 (audio runs at real time only"),
    ("symbolic", 1.0, "symbolic media (modelled durations"),
])
def test_the_banner_says_which_media_runs(media: str, scale: float, words: str) -> None:
    from percl.cli.serve import _media_line

    assert _media_line(media, scale).startswith(words)
