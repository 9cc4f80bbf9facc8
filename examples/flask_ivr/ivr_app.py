"""Acme Plumbing's phone line: a small FreeClimb app written with Flask and the official SDK.

Nothing here knows about percl: it is the same code you would deploy against FreeClimb.

    caller --inboundCall------> /voice                 welcome, menu: 1 opening hours, 2 an agent
           --getDigits--------> /menu                  1: hours, goodbye; 2: CreateConference;
                                                       nothing or anything else: ask again
           --createConference-> /conference-created    "please wait", OutDial the agent
           --outDialStart-----> /agent-dialing/<cf>    the caller joins the conference
    agent  --outDialConnect---> /agent-answered/<cf>   answered: the agent joins too;
                                                       busy / no answer: end the conference (REST)
    caller --leaveConference--> /caller-left/<cf>      the caller hung up: end the conference (REST)
           --callStatus-------> /status                nothing to do
    voiceUrl failed ----------> /fallback              an apology
    REST call (make_a_call) --> /callback              "returning your call", goodbye

The conference part follows FreeClimb's "connect a caller to another party" tutorial.
"""

from __future__ import annotations

from typing import Any

import freeclimb
from flask import Flask, Response, request, url_for

HOURS = "We are open from 8 to 5, Monday to Friday. Goodbye."
MENU = "Press 1 for our opening hours, or 2 to speak to an agent."


def percl(*commands: Any) -> Response:
    """A PerCL answer built with the SDK's command models."""
    script = freeclimb.PerclScript(commands=list(commands))
    return Response(script.to_json(), mimetype="application/json")


def create_app(api: freeclimb.DefaultApi, agent_number: str) -> Flask:
    """The app; `api` is a configured FreeClimb client, `agent_number` the phone to ring."""
    app = Flask(__name__)

    def end_conference(conference_id: str) -> None:
        api.update_a_conference(conference_id, freeclimb.UpdateConferenceRequest(
            status=freeclimb.UpdateConferenceRequestStatus.TERMINATED))

    @app.post("/voice")
    def voice() -> Response:
        return percl(
            freeclimb.Say(text="Welcome to Acme Plumbing."),
            freeclimb.GetDigits(action_url=url_for("menu", _external=True), max_digits=1,
                                initial_timeout_ms=5000, prompts=[freeclimb.Say(text=MENU)]),
        )

    @app.post("/menu")
    def menu() -> Response:
        digits = request.get_json()["digits"]
        if digits == "1":
            return percl(freeclimb.Say(text=HOURS), freeclimb.Hangup())
        if digits == "2":
            return percl(freeclimb.CreateConference(
                action_url=url_for("conference_created", _external=True)))
        return percl(freeclimb.Say(text="Sorry, I did not get that."),
                     freeclimb.Redirect(action_url=url_for("voice", _external=True)))

    @app.post("/conference-created")
    def conference_created() -> Response:
        body = request.get_json()
        cf = body["conferenceId"]
        return percl(
            freeclimb.Say(text="Please wait while we connect you to an agent."),
            freeclimb.OutDial(
                destination=agent_number, calling_number=body["to"],
                action_url=url_for("agent_dialing", cf=cf, _external=True),
                call_connect_url=url_for("agent_answered", cf=cf, _external=True),
                if_machine=freeclimb.IfMachine.HANGUP, timeout=30),
        )

    @app.post("/agent-dialing/<cf>")
    def agent_dialing(cf: str) -> Response:
        return percl(freeclimb.AddToConference(
            conference_id=cf, leave_conference_url=url_for("caller_left", cf=cf, _external=True)))

    @app.post("/agent-answered/<cf>")
    def agent_answered(cf: str) -> Response:
        if request.get_json()["callStatus"] != "inProgress":
            end_conference(cf)  # busy, no answer, failed: nobody is coming
            return percl()
        return percl(freeclimb.Say(text="You have a caller from Acme's phone line."),
                     freeclimb.AddToConference(conference_id=cf))

    @app.post("/caller-left/<cf>")
    def caller_left(cf: str) -> Response:
        end_conference(cf)
        return percl()

    @app.post("/status")
    def status() -> Response:
        return percl()

    @app.post("/callback")
    def callback() -> Response:
        return percl(freeclimb.Say(text="Hello, this is Acme Plumbing returning your call. "
                                        "A plumber will visit you tomorrow at 9."),
                     freeclimb.Hangup())

    @app.post("/fallback")
    def fallback() -> Response:
        return percl(freeclimb.Say(text="Sorry, we are having technical difficulties. "
                                        "Please call again later."),
                     freeclimb.Hangup())

    return app
