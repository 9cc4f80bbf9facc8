"""The asyncio REGISTER driver over UDP, TCP and TLS against an in-process digest registrar."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_sip_tcp import _self_signed

from percl.telephony.sip import tcp
from percl.telephony.sip.auth import DigestVerifier
from percl.telephony.sip.datagram import DatagramEndpoint
from percl.telephony.sip.message import Request, Response, make_response, parse_uri
from percl.telephony.sip.register import (
    RegisterAccount,
    Registered,
    RegistrationFailed,
    Unregistered,
)
from percl.telephony.sip.register_io import RegistrationClient


class Registrar:
    """401 until the credentials are right, then 200 with the Contact and its expires."""

    def __init__(self) -> None:
        self.verifier = DigestVerifier("percl.test", {"alice": "pw"},
                                       asyncio.get_running_loop().time)
        self.requests: list[Request] = []

    def answer(self, request: Request) -> Response:
        self.requests.append(request)
        creds = request.headers.get("Authorization")
        if creds is None or self.verifier.check(creds, method="REGISTER") is None:
            return make_response(request, 401, "Unauthorized", to_tag="r", extra=(
                ("WWW-Authenticate", self.verifier.challenge()),))
        contact = f"<{request.contacts[0].uri}>;expires={request.expires}"
        return make_response(request, 200, "OK", to_tag="r", extra=(("Contact", contact),))


def _account(password: str = "pw") -> RegisterAccount:
    return RegisterAccount(registrar=parse_uri("sip:percl.test"),
                           aor=parse_uri("sip:alice@percl.test"), username="alice",
                           password=password, expires=60)


@pytest.fixture
async def registrar() -> AsyncIterator[Registrar]:
    yield Registrar()


async def _udp_registrar(registrar: Registrar) -> tuple[tuple[str, int], DatagramEndpoint]:
    endpoint: DatagramEndpoint | None = None

    def handle(message: Request | Response, source: tuple[str, int]) -> None:
        if isinstance(message, Request) and endpoint is not None:
            endpoint.send(registrar.answer(message), source)

    endpoint = await DatagramEndpoint.start(handle)
    return endpoint.address, endpoint


async def test_udp_registers_through_401_and_unregisters(registrar: Registrar) -> None:
    address, endpoint = await _udp_registrar(registrar)
    client = await RegistrationClient.start(_account(), address)
    try:
        registered = await client.wait_for(Registered, timeout=5)
        assert isinstance(registered, Registered) and registered.expires == 60
        contact = registrar.requests[-1].contacts[0].uri
        assert contact.host == "127.0.0.1" and contact.port and contact.param("transport") is None
    finally:
        await client.stop()
        endpoint.close()
    assert isinstance(client.events[-1], Unregistered)
    assert registrar.requests[-1].expires == 0


async def test_wrong_password_is_reported_once(registrar: Registrar) -> None:
    address, endpoint = await _udp_registrar(registrar)
    client = await RegistrationClient.start(_account("bad"), address)
    try:
        failed = await client.wait_for(RegistrationFailed, timeout=5)
        assert isinstance(failed, RegistrationFailed) and failed.status == 401
        assert len(registrar.requests) == 2
    finally:
        await client.stop()
        endpoint.close()


@pytest.mark.parametrize("use_tls", [False, True])
async def test_stream_transports_register(registrar: Registrar, tmp_path: Path,
                                          use_tls: bool) -> None:
    server_ctx = client_ctx = None
    if use_tls:
        cert, key = _self_signed(tmp_path)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.create_default_context(cafile=str(cert))

    def handle(message: Request | Response, connection: tcp.Connection) -> None:
        if isinstance(message, Request):
            connection.send(registrar.answer(message))

    server = await tcp.StreamServer.start(handle, ssl=server_ctx)
    client = await RegistrationClient.start(_account(), server.address, transport="TCP",
                                            ssl=client_ctx)
    try:
        await client.wait_for(Registered, timeout=5)
        sent = registrar.requests[-1]
        name = "TLS" if use_tls else "TCP"
        assert sent.vias[0].transport == name
        assert sent.contacts[0].uri.param("transport") == name.lower()
    finally:
        await client.stop()
        await server.close()


async def test_a_dropped_tcp_connection_is_reopened_and_the_new_address_registered(
        registrar: Registrar) -> None:
    def handle(message: Request | Response, connection: tcp.Connection) -> None:
        if isinstance(message, Request):
            connection.send(registrar.answer(message))

    server = await tcp.StreamServer.start(handle)
    client = await RegistrationClient.start(_account(), server.address, transport="TCP")
    try:
        await client.wait_for(Registered, timeout=5)
        first = registrar.requests[-1].contacts[0].uri
        for connection in list(server.connections):
            connection.close()  # the registrar (or a NAT box) drops the connection
        await client.wait_for(Registered, count=2, timeout=5)
        second = registrar.requests[-1].contacts[0].uri
        assert second.port != first.port and second.param("transport") == "tcp"
        assert registrar.requests[-1].vias[0].port == second.port
        assert len(server.connections) == 1
    finally:
        await client.stop()
        await server.close()
    assert isinstance(client.events[-1], Unregistered)
