"""Fixtures for testing Acme's app; `percl` and `freeclimb_api` come from the percl pytest plugin."""

from __future__ import annotations

import freeclimb
import pytest
from flask import Flask
from ivr_app import create_app

from percl.testing import Percl, Phone

AGENT_NUMBER = "+15550100002"


@pytest.fixture
def acme(freeclimb_api: freeclimb.DefaultApi) -> Flask:
    """The app under test, calling the REST API through the in-process SDK client."""
    return create_app(freeclimb_api, agent_number=AGENT_NUMBER)


@pytest.fixture
def acme_number(percl: Percl, acme: Flask) -> str:
    """A number that rings the app, bought and wired as you would in FreeClimb's dashboard."""
    return percl.number_for(acme, voice_path="/voice", voice_fallback_path="/fallback",
                            status_path="/status")


@pytest.fixture
def agent(percl: Percl) -> Phone:
    """The agent's phone: by default a person who answers after 1 s."""
    return percl.phone(AGENT_NUMBER)
