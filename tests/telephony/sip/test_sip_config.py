"""SIP settings: PERCL_SIP_* and the TOML file, trunk routing, errors that name the setting, and a
password that never shows (repr, banner lines, logs)."""

from __future__ import annotations

import logging

import pytest

from percl.engine.ports import DialResult
from percl.errors import ConfigError
from percl.telephony.sip.config import HostPort, SipConfig, Trunk, load_sip_config
from percl.telephony.sip.line import SipLine, dial_result, phone_number

SECRET = "pa55-w0rd-xyz"
TOML = b"""
listen = "127.0.0.1:5070"
advertised = "203.0.113.5"
rtp_ports = "40000-40100"

[[trunk]]
name = "carrier"
proxy = "127.0.0.1:5090"
prefixes = ["+1", "+44"]
username = "acct"
password = "pa55-w0rd-xyz"

[[trunk]]
name = "pbx"
sources = ["10.0.0.0/8"]
"""


def _files(content: bytes):  # type: ignore[no-untyped-def]
    return lambda path: content


def test_sip_is_off_unless_configured() -> None:
    assert load_sip_config({"PERCL_PORT": "8600"}) is None
    assert load_sip_config({"PERCL_SIP_LISTEN": "  "}) is None


def test_one_trunk_from_the_environment() -> None:
    config = load_sip_config({
        "PERCL_SIP_LISTEN": "127.0.0.1", "PERCL_SIP_TRUNK_PROXY": "sip.example.net:5080",
        "PERCL_SIP_TRUNK_PREFIXES": "+1, +4420", "PERCL_SIP_TRUNK_PASSWORD": SECRET,
        "PERCL_SIP_TRUNK_USERNAME": "me"})
    assert config is not None
    assert config.listen == HostPort("127.0.0.1", 5060) and config.advertised == "127.0.0.1"
    (trunk,) = config.trunks
    assert trunk.name == "trunk" and trunk.proxy == HostPort("sip.example.net", 5080)
    assert config.trunk_for("+13125550100") is trunk
    assert config.trunk_for("+442071234567") is trunk
    assert config.trunk_for("+33123456789") is None
    assert config.trunk_for("sip:bob@example.net") is None


def test_trunks_from_a_toml_file_and_the_environment_wins() -> None:
    config = load_sip_config({"PERCL_SIP_CONFIG": "sip.toml", "PERCL_SIP_LISTEN": "0.0.0.0:5062"},
                             _files(TOML))
    assert config is not None
    assert config.listen == HostPort("0.0.0.0", 5062) and config.advertised == "203.0.113.5"
    assert config.rtp_ports == (40000, 40100)
    carrier, pbx = config.trunks
    assert carrier.prefixes == ("+1", "+44") and carrier.username == "acct"
    assert pbx.proxy is None and str(pbx.sources[0]) == "10.0.0.0/8"
    assert config.trunk_for("+447700900123") is carrier


@pytest.mark.parametrize(("environ", "says"), [
    ({"PERCL_SIP_LISTEN": "127.0.0.1:99999"}, "PERCL_SIP_LISTEN"),
    ({"PERCL_SIP_RTP_PORTS": "20000"}, "PERCL_SIP_RTP_PORTS"),
    ({"PERCL_SIP_RTP_PORTS": "500-600"}, "1024"),
    ({"PERCL_SIP_TRUNK_PROXY": "h", "PERCL_SIP_TRUNK_PREFIXES": "1555"}, "prefix '1555'"),
    ({"PERCL_SIP_TRUNK_SOURCES": "not-an-ip"}, "not an IP address"),
    ({"PERCL_SIP_TRUNK_PREFIXES": "+1"}, "prefixes need a proxy"),
    ({"PERCL_SIP_TRUNK_USERNAME": "u"}, "give a proxy, sources, or both"),
])
def test_bad_values_name_the_setting(environ: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_sip_config(environ)


def test_bad_files_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_sip_config({"PERCL_SIP_CONFIG": "x"}, _files(b"[[trunk]\n"))
    with pytest.raises(ConfigError, match="unknown keys \\['proxi'\\]"):
        load_sip_config({"PERCL_SIP_CONFIG": "x"}, _files(b'[[trunk]]\nname="a"\nproxi="h"\n'))
    with pytest.raises(ConfigError, match="name is required"):
        load_sip_config({"PERCL_SIP_CONFIG": "x"}, _files(b'[[trunk]]\nproxy="h"\n'))
    with pytest.raises(ConfigError, match="cannot read it"):
        load_sip_config({"PERCL_SIP_CONFIG": "/nonexistent/percl-sip.toml"})


def test_the_password_never_shows_in_repr_or_banner_lines() -> None:
    config = load_sip_config({"PERCL_SIP_CONFIG": "x"}, _files(TOML))
    assert config is not None
    assert SECRET not in repr(config) and SECRET not in str(config.trunks)
    lines = config.describe()
    assert SECRET not in "\n".join(lines)
    assert any("user acct (password set)" in line for line in lines)
    assert config.trunks[0].password == SECRET  # kept, for digest auth


class _NoHost:
    async def line_call(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no call expected")


async def _no_number(number: str) -> None:
    return None


async def test_the_password_never_shows_in_the_lines_logs(caplog: pytest.LogCaptureFixture) -> None:
    trunk = Trunk(name="carrier", proxy=HostPort("127.0.0.1", 5999), prefixes=("+1",),
                  username="acct", password=SECRET)
    config = SipConfig(listen=HostPort("127.0.0.1", 0), trunks=(trunk,),
                       rtp_ports=(41000, 41100))
    caplog.set_level(logging.DEBUG)
    async with SipLine(config, _NoHost(), _no_number) as line:  # type: ignore[arg-type]
        line.datagram(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("127.0.0.1", 5999))
        for text in config.describe():
            logging.getLogger("percl.telephony.sip").info(text)
    assert caplog.records and SECRET not in caplog.text


def test_sip_statuses_map_to_dial_results() -> None:
    assert [dial_result(s) for s in (486, 600, 603, 408, 480, 404, 500, 503)] == [
        DialResult.BUSY, DialResult.BUSY, DialResult.BUSY, DialResult.NO_ANSWER,
        DialResult.NO_ANSWER, DialResult.FAILED, DialResult.FAILED, DialResult.FAILED]


def test_uri_users_read_as_e164_numbers() -> None:
    assert phone_number("+13125550100") == "+13125550100"
    assert phone_number("13125550100") == "+13125550100"
    assert phone_number("1-312-555-0100;npdi") == "+13125550100"
    assert phone_number("alice") is None and phone_number(None) is None


def test_register_domains_and_rate_from_the_file_and_the_environment() -> None:
    toml = (b'domains = ["PBX.example"]\nrate = 5\nburst = 10\n[[trunk]]\nname = "carrier"\n'
            b'proxy = "127.0.0.1:5090"\nusername = "acct"\npassword = "pw"\nregister = true\n')
    config = load_sip_config({"PERCL_SIP_CONFIG": "sip.toml"}, _files(toml))
    assert config is not None and config.trunks[0].register
    assert (config.domains, config.rate, config.burst) == (("pbx.example",), 5.0, 10.0)
    assert "registers" in config.describe()[1]
    env = load_sip_config({"PERCL_SIP_TRUNK_PROXY": "127.0.0.1", "PERCL_SIP_TRUNK_USERNAME": "u",
                           "PERCL_SIP_TRUNK_PASSWORD": "p", "PERCL_SIP_TRUNK_REGISTER": "1",
                           "PERCL_SIP_RATE": "2.5", "PERCL_SIP_DOMAINS": "a.example,b.example"})
    assert env is not None and env.trunks[0].register and env.rate == 2.5
    assert env.domains == ("a.example", "b.example")


@pytest.mark.parametrize(("environ", "named"), [
    ({"PERCL_SIP_TRUNK_PROXY": "127.0.0.1", "PERCL_SIP_TRUNK_REGISTER": "1"}, "register needs"),
    ({"PERCL_SIP_TRUNK_PROXY": "127.0.0.1", "PERCL_SIP_TRUNK_REGISTER": "maybe"},
     "PERCL_SIP_TRUNK_REGISTER"),
    ({"PERCL_SIP_LISTEN": "127.0.0.1", "PERCL_SIP_RATE": "0"}, "PERCL_SIP_RATE"),
    ({"PERCL_SIP_LISTEN": "127.0.0.1", "PERCL_SIP_BURST": "lots"}, "PERCL_SIP_BURST"),
])
def test_bad_register_and_rate_settings_are_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_sip_config(environ)


def test_tcp_and_tls_listeners_and_a_trunks_transport() -> None:
    config = load_sip_config({"PERCL_SIP_LISTEN": "127.0.0.1:5070", "PERCL_SIP_TCP": "0.0.0.0",
                              "PERCL_SIP_TLS_CERT": "/c.pem", "PERCL_SIP_TLS_KEY": "/k.pem",
                              "PERCL_SIP_TLS_CA": "/ca.pem", "PERCL_SIP_TRUNK_PROXY": "pbx:5061",
                              "PERCL_SIP_TRUNK_PREFIXES": "+1",
                              "PERCL_SIP_TRUNK_TRANSPORT": "TLS"})
    assert config is not None
    assert config.tcp == HostPort("0.0.0.0", 5060)
    assert config.tls == HostPort("127.0.0.1", 5061)  # the UDP host, the TLS port
    assert (config.tls_cert, config.tls_key, config.tls_ca) == ("/c.pem", "/k.pem", "/ca.pem")
    assert config.trunks[0].transport == "tls"
    assert "over tls" in config.trunks[0].describe()
    assert "SIP on tcp 0.0.0.0:5060" in config.describe()
    filed = load_sip_config({"PERCL_SIP_CONFIG": "sip.toml"}, lambda path: b'tcp = "127.0.0.1:5080"\n'
                            b'[[trunk]]\nname = "t"\nproxy = "10.0.0.2"\ntransport = "tcp"\n')
    assert filed is not None and filed.tcp == HostPort("127.0.0.1", 5080)
    assert filed.trunks[0].transport == "tcp" and filed.tls is None


@pytest.mark.parametrize(("environ", "named"), [
    ({"PERCL_SIP_TLS_CERT": "/c.pem"}, "PERCL_SIP_TLS_KEY"),
    ({"PERCL_SIP_TLS": "0.0.0.0:5061"}, "PERCL_SIP_TLS_CERT"),
    ({"PERCL_SIP_TRUNK_PROXY": "pbx", "PERCL_SIP_TRUNK_TRANSPORT": "sctp"},
     "PERCL_SIP_TRUNK_TRANSPORT"),
    ({"PERCL_SIP_TCP": "host:99999"}, "PERCL_SIP_TCP"),
])
def test_bad_transport_settings_are_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_sip_config(environ)
