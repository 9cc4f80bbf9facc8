"""percl as registrar of its users' phones (registrar.py), sans-I/O on a FakeClock: the 401
challenge, 403 for a stranger or a wrong password, bindings that expire, refresh and are removed
by Expires 0, and the settings that configure the users."""

from __future__ import annotations

import pytest

from percl.errors import ConfigError
from percl.telephony.sip.auth import DigestVerifier, with_credentials
from percl.telephony.sip.config import SipUser, load_sip_config
from percl.telephony.sip.message import Request, Response, make_response, parse_message
from percl.telephony.sip.registrar import MAX_EXPIRES, Registrar
from percl.testing import FakeClock

SOURCE = ("192.0.2.7", 5062)


def _register(user: str = "alice", expires: str | None = "120",
              contact: str = "<sip:alice@10.0.0.5:5062>", cseq: int = 1) -> Request:
    lines = ["REGISTER sip:percl.test SIP/2.0",
             "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKreg1;rport",
             "Max-Forwards: 70", f"From: <sip:{user}@percl.test>;tag=r1",
             f"To: <sip:{user}@percl.test>", "Call-ID: reg-1", f"CSeq: {cseq} REGISTER",
             f"Contact: {contact}"]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def _rig() -> tuple[FakeClock, Registrar]:
    clock = FakeClock()
    verifier = DigestVerifier("percl", {"alice": "pw-a", "bob": "pw-b"}, clock.now)
    return clock, Registrar(verifier, ["alice", "bob"])


def _answer(registrar: Registrar, request: Request, password: str,
            now: float) -> tuple[int, tuple[tuple[str, str], ...]]:
    """REGISTER, and answer the 401 with `password` as a phone does."""
    status, extra = registrar.register(request, SOURCE, now)
    assert status == 401
    challenge = make_response(request, 401, "Unauthorized", extra=extra)
    assert isinstance(challenge, Response)
    user = request.to.uri.user or ""
    return registrar.register(with_credentials(request, challenge, user, password), SOURCE, now)


async def test_a_register_is_challenged_then_bound_until_its_expires_runs_out() -> None:
    clock, registrar = _rig()
    assert registrar.binding("alice", clock.now()) is None
    status, extra = _answer(registrar, _register(), "pw-a", clock.now())
    assert status == 200
    assert extra == (("Contact", "<sip:alice@10.0.0.5:5062>;expires=120"),)
    binding = registrar.binding("alice", clock.now())
    assert binding is not None and binding.source == SOURCE
    assert str(binding.contact.uri) == "sip:alice@10.0.0.5:5062"
    await clock.advance(119)
    assert registrar.binding("alice", clock.now()) is not None
    await clock.advance(2)
    assert registrar.binding("alice", clock.now()) is None


async def test_a_refresh_extends_the_binding_and_expires_0_removes_it() -> None:
    clock, registrar = _rig()
    assert _answer(registrar, _register(), "pw-a", clock.now())[0] == 200
    await clock.advance(100)
    assert _answer(registrar, _register(cseq=3), "pw-a", clock.now())[0] == 200
    await clock.advance(100)  # 200 s after the first REGISTER, 100 after the refresh
    assert registrar.binding("alice", clock.now()) is not None
    status, extra = _answer(registrar, _register(expires="0", cseq=5), "pw-a", clock.now())
    assert (status, extra) == (200, ())
    assert registrar.binding("alice", clock.now()) is None


async def test_a_wildcard_removes_every_binding_and_long_expires_are_capped() -> None:
    clock, registrar = _rig()
    status, extra = _answer(registrar, _register(expires="86400"), "pw-a", clock.now())
    assert status == 200 and extra == (("Contact", f"<sip:alice@10.0.0.5:5062>;expires={MAX_EXPIRES}"),)
    assert _answer(registrar, _register(contact="*", expires="0"), "pw-a", clock.now()) == (
        200, ())
    assert registrar.binding("alice", clock.now()) is None
    assert _answer(registrar, _register(expires="10"), "pw-a", clock.now())[0] == 423


def test_a_wrong_password_an_unknown_user_or_another_users_aor_gets_403() -> None:
    clock, registrar = _rig()
    assert _answer(registrar, _register(), "wrong", clock.now()) == (403, ())
    assert _answer(registrar, _register(user="mallory"), "pw-a", clock.now()) == (403, ())
    # bob's credentials may not bind alice's address of record
    request = _register()
    status, extra = registrar.register(request, SOURCE, clock.now())
    assert status == 401
    challenge = make_response(request, 401, "Unauthorized", extra=extra)
    signed = with_credentials(request, challenge, "bob", "pw-b")
    assert registrar.register(signed, SOURCE, clock.now()) == (403, ())
    assert registrar.binding("alice", clock.now()) is None


def test_users_come_from_the_setting_or_the_file_and_never_show_their_password() -> None:
    config = load_sip_config({"PERCL_SIP_USERS": "alice:secret:+15550001111, bob:pw2"})
    assert config is not None
    assert config.users == (SipUser("alice", "secret", "+15550001111"), SipUser("bob", "pw2"))
    shown = "\n".join(config.describe()) + repr(config)
    assert "secret" not in shown and "pw2" not in shown and "user alice answers +1555" in shown
    from_file = load_sip_config({"PERCL_SIP_CONFIG": "sip.toml"},
                                read_file=lambda _: b'users = ["carol:pw3:+15550003333"]\n')
    assert from_file is not None and from_file.users == (SipUser("carol", "pw3", "+15550003333"),)
    for bad in ("alice", "alice:", "al ice:pw", "alice:pw:5550001111", "a:pw,a:pw2"):
        with pytest.raises(ConfigError) as error:
            load_sip_config({"PERCL_SIP_USERS": bad})
        assert "pw" not in str(error.value).replace("password", "")
