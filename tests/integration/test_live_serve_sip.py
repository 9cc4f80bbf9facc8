"""`percl serve` with SIP configured by PERCL_SIP_*: the banner shows the SIP line and the trunk
without its password, SIP answers on its port, and SIP with symbolic media is refused."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest

from .live import Credentials, LiveServer, free_port, run_serve_once, serve_env

SECRET = "trunk-pass-7f3a9c"


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sip_env(workdir: Path, port: int, creds: Credentials, sip_port: int,
             **extra: str) -> dict[str, str]:
    low = random.randrange(30000, 59000, 2)
    settings = {"PERCL_MEDIA": "audio", **extra}
    return serve_env(workdir / "percl.db", port, creds, PERCL_MEDIA_TIME_SCALE="1",
                     PERCL_SIP_LISTEN=f"127.0.0.1:{sip_port}",
                     PERCL_SIP_RTP_PORTS=f"{low}-{low + 100}",
                     PERCL_SIP_TRUNK_NAME="office", PERCL_SIP_TRUNK_SOURCES="127.0.0.1",
                     PERCL_SIP_TRUNK_PROXY="127.0.0.1:5999", PERCL_SIP_TRUNK_PREFIXES="+1555",
                     PERCL_SIP_TRUNK_USERNAME="percl", PERCL_SIP_TRUNK_PASSWORD=SECRET,
                     **settings)


def test_serve_shows_the_sip_line_never_its_password_and_answers_options(
        tmp_path: Path) -> None:
    creds, port, sip_port = Credentials.generate(), free_port(), _udp_port()
    live = LiveServer(tmp_path, _sip_env(tmp_path, port, creds, sip_port), port, creds)
    live.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.bind(("127.0.0.1", 0))
            me = sock.getsockname()[1]
            sock.sendto((f"OPTIONS sip:percl@127.0.0.1:{sip_port} SIP/2.0\r\n"
                         f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKlive1\r\n"
                         "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n"
                         "To: <sip:percl@127.0.0.1>\r\nCall-ID: live-options\r\n"
                         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(),
                        ("127.0.0.1", sip_port))
            answer = sock.recv(4000)
    finally:
        live.stop()
    assert answer.startswith(b"SIP/2.0 200 OK")
    output = live.output()
    assert f"SIP on udp 127.0.0.1:{sip_port}" in output
    assert "trunk office" in output and "(password set)" in output
    assert SECRET not in output


def test_serve_refuses_sip_with_symbolic_media(tmp_path: Path) -> None:
    creds = Credentials.generate()
    env = _sip_env(tmp_path, free_port(), creds, _udp_port(), PERCL_MEDIA="symbolic")
    code, output = run_serve_once(tmp_path, env, 60)
    assert code != 0
    assert "PERCL_SIP_*: SIP trunks carry real audio" in output
    assert SECRET not in output


@pytest.mark.parametrize(("name", "value"), [("PERCL_SIP_RTP_PORTS", "70000-70010"),
                                             ("PERCL_SIP_TRUNK_PREFIXES", "1555")])
def test_serve_refuses_bad_sip_settings_naming_them(tmp_path: Path, name: str,
                                                    value: str) -> None:
    creds = Credentials.generate()
    env = _sip_env(tmp_path, free_port(), creds, _udp_port())
    env[name] = value
    code, output = run_serve_once(tmp_path, env, 60)
    assert code != 0 and name.removeprefix("PERCL_SIP_TRUNK_").lower() in output.lower()
