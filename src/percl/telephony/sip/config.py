"""SIP trunk settings: where percl listens, what it advertises, and the trunks it trusts.

SIP is off unless configured: `load_sip_config` returns None when no PERCL_SIP_* setting and no
file are given. Settings come from a TOML file (PERCL_SIP_CONFIG) and the environment; an
environment variable wins over the file's value. The environment describes at most one trunk
(PERCL_SIP_TRUNK_*); more trunks need the file (`[[trunk]]` tables). Every error names the
setting and says what is expected (ConfigError).

A trunk's password is kept out of `repr`, `describe()` and every log line: only the fact that a
password is set is shown.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from percl.domain.phone import is_e164, is_sip_uri
from percl.errors import ConfigError

DEFAULT_PORT = 5060
DEFAULT_RTP_PORTS = (20000, 29999)

#: The environment variables this module reads.
ENV_NAMES = (
    "PERCL_SIP_CONFIG", "PERCL_SIP_LISTEN", "PERCL_SIP_ADVERTISED", "PERCL_SIP_RTP_PORTS",
    "PERCL_SIP_TRUNK_NAME", "PERCL_SIP_TRUNK_PROXY", "PERCL_SIP_TRUNK_PREFIXES",
    "PERCL_SIP_TRUNK_SOURCES", "PERCL_SIP_TRUNK_USERNAME", "PERCL_SIP_TRUNK_PASSWORD",
    "PERCL_SIP_TRUNK_REGISTER", "PERCL_SIP_DOMAINS", "PERCL_SIP_RATE", "PERCL_SIP_BURST",
    "PERCL_SIP_TCP", "PERCL_SIP_TLS", "PERCL_SIP_TLS_CERT", "PERCL_SIP_TLS_KEY", "PERCL_SIP_TLS_CA",
    "PERCL_SIP_TRUNK_TRANSPORT", "PERCL_SIP_DIRECT_URIS", "PERCL_SIP_USERS",
)
TRANSPORTS = ("udp", "tcp", "tls")
DEFAULT_TLS_PORT = 5061
# A carrier sends all its calls from a few addresses, so the per-source limit is sized for a
# trunk's traffic (the bench's 100 calls/s from one sipp), not a phone's: it stops floods.
DEFAULT_RATE = 200.0  # INVITEs per second one source address may send, sustained
DEFAULT_BURST = 400.0  # INVITEs one source address may send at once


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Trunk:
    """A SIP peer percl trusts: a carrier, a PBX, a softphone.

    Outbound calls whose `to` starts with one of `prefixes` ("+" takes every E.164 number) go to
    `proxy`. Inbound INVITEs are accepted from `sources` (addresses or networks), and from the
    proxy's own address when `sources` is empty.
    """

    name: str
    proxy: HostPort | None = None
    prefixes: tuple[str, ...] = ()
    sources: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    register: bool = False  # REGISTER percl's Contact with the proxy (username/password)
    transport: str = "udp"  # how calls and REGISTERs reach the proxy: "udp", "tcp" or "tls"

    def routes(self, to: str) -> bool:
        """Whether an outbound call to `to` goes out on this trunk."""
        return self.proxy is not None and (is_e164(to) or is_sip_uri(to)) and any(
            to.startswith(prefix) for prefix in self.prefixes)

    def describe(self) -> str:
        """One line for the banner and logs; never the password."""
        parts = [f"trunk {self.name}"]
        parts.append(f"proxy {self.proxy}" + (f" over {self.transport}"
                                               if self.transport != "udp" else "")
                     if self.proxy else "inbound only")
        if self.prefixes:
            parts.append("out: " + ",".join(self.prefixes))
        parts.append("from: " + (",".join(str(s) for s in self.sources) or "the proxy"))
        if self.username:
            parts.append(f"user {self.username}" + (" (password set)" if self.password else ""))
        if self.register:
            parts.append("registers")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class SipUser:
    """A softphone that registers with percl (digest `name`/`password`) and may call in; calls
    to `number` (or to sip:name@percl) ring its registered Contact."""

    name: str
    password: str = field(repr=False)
    number: str | None = None

    def describe(self) -> str:
        """One line for the banner; never the password."""
        return f"user {self.name}" + (f" answers {self.number}" if self.number else "")


@dataclass(frozen=True, slots=True)
class SipConfig:
    listen: HostPort = HostPort("0.0.0.0", DEFAULT_PORT)
    advertised: str = "127.0.0.1"  # the address put in Via, Contact and SDP (NAT: the public one)
    rtp_ports: tuple[int, int] = DEFAULT_RTP_PORTS
    trunks: tuple[Trunk, ...] = ()
    domains: tuple[str, ...] = ()  # more Request-URI hosts that are percl (besides its addresses)
    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST
    tcp: HostPort | None = None  # listen for SIP over TCP here too
    tls: HostPort | None = None  # listen for SIP over TLS here (needs tls_cert and tls_key)
    tls_cert: str | None = None  # PEM certificate chain the TLS listener presents
    tls_key: str | None = None  # its private key (PEM)
    tls_ca: str | None = None  # PEM CAs trusted for outbound TLS (default: the system's)
    direct_uris: bool = False  # a sip: URI no trunk routes goes straight to its host
    users: tuple[SipUser, ...] = ()  # softphones registering with percl (PERCL_SIP_USERS)

    def trunk_for(self, to: str) -> Trunk | None:
        """The first trunk that routes `to`, in configuration order."""
        return next((trunk for trunk in self.trunks if trunk.routes(to)), None)

    def describe(self) -> list[str]:
        """Banner lines: listen and advertised addresses, RTP ports, one line per trunk."""
        lines = [f"SIP on udp {self.listen} (advertised {self.advertised}), "
                 f"RTP ports {self.rtp_ports[0]}-{self.rtp_ports[1]}"]
        if self.tcp is not None:
            lines.append(f"SIP on tcp {self.tcp}")
        if self.tls is not None:
            lines.append(f"SIP on tls {self.tls} (certificate {self.tls_cert})")
        if self.direct_uris:
            lines.append("sip: URIs no trunk routes are called directly at their host")
        lines += [trunk.describe() for trunk in self.trunks]
        lines += [user.describe() for user in self.users]
        if not self.trunks and not self.users:
            lines.append("no trunk: every INVITE is refused (403)")
        return lines


def load_sip_config(environ: Mapping[str, str],
                    read_file: Callable[[str], bytes] | None = None) -> SipConfig | None:
    """The SIP settings from PERCL_SIP_* and the file PERCL_SIP_CONFIG names; None when off.

    `read_file` reads the TOML file (default: open it); raises ConfigError for bad values.
    """
    values = {k: v for k, v in environ.items() if k.startswith("PERCL_SIP_") and v.strip()}
    if not values:
        return None
    table: dict[str, object] = {}
    if "PERCL_SIP_CONFIG" in values:
        table = _read_toml(values["PERCL_SIP_CONFIG"].strip(), read_file or _read_path)
    listen = _host_port("PERCL_SIP_LISTEN",
                        values.get("PERCL_SIP_LISTEN") or _text(table, "listen", "0.0.0.0"),
                        DEFAULT_PORT)
    advertised = (values.get("PERCL_SIP_ADVERTISED") or _text(table, "advertised", "")).strip()
    if not advertised:
        advertised = "127.0.0.1" if listen.host in ("0.0.0.0", "::") else listen.host
    ports = _port_range(values.get("PERCL_SIP_RTP_PORTS") or _text(table, "rtp_ports", ""))
    trunks = [_trunk(item, f"PERCL_SIP_CONFIG [[trunk]] #{i + 1}")
              for i, item in enumerate(_tables(table, "trunk"))]
    env_trunk = _env_trunk(values)
    if env_trunk is not None:
        trunks = [t for t in trunks if t.name != env_trunk.name] + [env_trunk]
    names = [t.name for t in trunks]
    if len(set(names)) != len(names):
        raise ConfigError(f"PERCL_SIP_CONFIG: trunk names must be unique, got {names}")
    domains = _list("PERCL_SIP_DOMAINS", values.get("PERCL_SIP_DOMAINS") or table.get("domains", []))
    rate = _positive("PERCL_SIP_RATE", values.get("PERCL_SIP_RATE") or table.get("rate", DEFAULT_RATE))
    burst = _positive("PERCL_SIP_BURST",
                      values.get("PERCL_SIP_BURST") or table.get("burst", DEFAULT_BURST))
    tcp_text = values.get("PERCL_SIP_TCP") or _text(table, "tcp", "")
    tcp = _host_port("PERCL_SIP_TCP", tcp_text, DEFAULT_PORT) if tcp_text.strip() else None
    cert = values.get("PERCL_SIP_TLS_CERT") or _text(table, "tls_cert", "") or None
    key = values.get("PERCL_SIP_TLS_KEY") or _text(table, "tls_key", "") or None
    ca = values.get("PERCL_SIP_TLS_CA") or _text(table, "tls_ca", "") or None
    tls_text = values.get("PERCL_SIP_TLS") or _text(table, "tls", "")
    tls = _tls_listen(tls_text, cert, key, listen)
    users = _users(values.get("PERCL_SIP_USERS") or table.get("users", []))
    return SipConfig(listen=listen, advertised=advertised, rtp_ports=ports, trunks=tuple(trunks),
                     users=users,
                     domains=tuple(d.lower() for d in domains), rate=rate, burst=max(1.0, burst),
                     tcp=tcp, tls=tls, tls_cert=cert, tls_key=key, tls_ca=ca,
                     direct_uris=_flag("PERCL_SIP_DIRECT_URIS",
                                       values.get("PERCL_SIP_DIRECT_URIS")
                                       or table.get("direct_uris", False)))


def _users(raw: object) -> tuple[SipUser, ...]:
    """PERCL_SIP_USERS / `users`: "name:password[:+number]" items, comma-separated or a list."""
    users: list[SipUser] = []
    for index, item in enumerate(_list("PERCL_SIP_USERS", raw)):
        name, _, rest = item.partition(":")
        password, _, number = rest.partition(":")
        where = f"PERCL_SIP_USERS item #{index + 1} (user {name.strip()!r})"
        if not name.strip() or not password or any(c in name for c in ' \t@;"<>'):
            raise ConfigError(f"{where}: expected name:password or name:password:+number "
                              "(a name without spaces, @ or ;, and a non-empty password)")
        if number and not is_e164(number.strip()):
            raise ConfigError(f"{where}: the number must be E.164, e.g. +15550001111")
        users.append(SipUser(name.strip(), password, number.strip() or None))
    names = [user.name for user in users]
    if len(set(names)) != len(names):
        raise ConfigError("PERCL_SIP_USERS: user names must be unique")
    return tuple(users)


def _tls_listen(raw: str, cert: str | None, key: str | None, listen: HostPort) -> HostPort | None:
    """Where the TLS listener binds: PERCL_SIP_TLS, else the UDP host on 5061 when a
    certificate and key are given; None when neither."""
    if bool(cert) != bool(key):
        raise ConfigError("PERCL_SIP_TLS_CERT and PERCL_SIP_TLS_KEY: give both (a PEM certificate "
                          "chain and its private key) to listen for TLS")
    if raw.strip() and not cert:
        raise ConfigError(f"PERCL_SIP_TLS={raw!r}: listening for TLS needs PERCL_SIP_TLS_CERT and "
                          "PERCL_SIP_TLS_KEY")
    if not cert:
        return None
    if raw.strip():
        return _host_port("PERCL_SIP_TLS", raw, DEFAULT_TLS_PORT)
    return HostPort(listen.host, DEFAULT_TLS_PORT)



def _positive(name: str, raw: object) -> float:
    try:
        value = float(cast("str | float", raw))
    except (TypeError, ValueError):
        value = 0.0
    if isinstance(raw, bool) or not value > 0:
        raise ConfigError(f"{name}={raw!r}: expected a number above 0 (requests per second)")
    return value


def _flag(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false (1 or 0)")


def _read_path(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _read_toml(path: str, read_file: Callable[[str], bytes]) -> dict[str, object]:
    try:
        return tomllib.loads(read_file(path).decode("utf-8"))
    except OSError as error:
        raise ConfigError(f"PERCL_SIP_CONFIG={path!r}: cannot read it ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"PERCL_SIP_CONFIG={path!r}: not valid TOML ({error})") from None


def _text(table: Mapping[str, object], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"PERCL_SIP_CONFIG: {key} must be a string, got {value!r}")
    return value


def _tables(table: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"PERCL_SIP_CONFIG: {key} must be an array of tables ([[{key}]])")
    return cast("list[Mapping[str, object]]", value)


def _host_port(name: str, raw: str, default_port: int) -> HostPort:
    text = raw.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"{name}={raw!r}: expected host or host:port")
    if not port_text:
        return HostPort(host, default_port)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"{name}={raw!r}: the port must be 1..65535")
    return HostPort(host, int(port_text))


def _port_range(raw: str) -> tuple[int, int]:
    if not raw.strip():
        return DEFAULT_RTP_PORTS
    low, dash, high = raw.strip().partition("-")
    if not (dash and low.isdigit() and high.isdigit()):
        raise ConfigError(f"PERCL_SIP_RTP_PORTS={raw!r}: expected LOW-HIGH, e.g. 20000-29999")
    lo, hi = int(low), int(high)
    if not 1024 <= lo < hi <= 65535 or hi - lo < 3:
        raise ConfigError(f"PERCL_SIP_RTP_PORTS={raw!r}: expected 1024 <= LOW < HIGH <= 65535 "
                          "with room for two calls (RTP and RTCP ports)")
    return lo, hi


def _list(name: str, raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return tuple(str(item).strip() for item in raw if str(item).strip())
    raise ConfigError(f"{name}: expected a list of strings (or one comma-separated string)")


def _sources(name: str, items: Sequence[str]) -> tuple[ipaddress.IPv4Network |
                                                       ipaddress.IPv6Network, ...]:
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network "
                              "(e.g. 198.51.100.7 or 198.51.100.0/24)") from None
    return tuple(out)


def _prefixes(name: str, items: Sequence[str]) -> tuple[str, ...]:
    for item in items:
        if not ((item.startswith("+") and item[1:].isdigit()) or item == "+"
                or (item.startswith(("sip:", "sips:")) and not any(c.isspace() for c in item))):
            raise ConfigError(f"{name}: prefix {item!r} must be '+' and digits (e.g. +1, +4420), "
                              "'+' alone for every number, or 'sip:' (sip: URIs, or those that "
                              "start so, e.g. 'sip:' or 'sip:ext-')")
    return tuple(items)


def _trunk(item: Mapping[str, object], where: str) -> Trunk:
    known = {"name", "proxy", "prefixes", "sources", "username", "password", "register",
             "transport"}
    unknown = sorted(set(item) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown} (known: {sorted(known)})")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name is required (a short word, e.g. \"carrier\")")
    return _build_trunk(where, name.strip(), item.get("proxy"), item.get("prefixes", []),
                        item.get("sources", []), item.get("username"), item.get("password"),
                        _flag(f"{where} register", item.get("register", False)),
                        _transport(f"{where} transport", item.get("transport", "udp")))


def _env_trunk(values: Mapping[str, str]) -> Trunk | None:
    keys = [k for k in values if k.startswith("PERCL_SIP_TRUNK_")]
    if not keys:
        return None
    return _build_trunk("PERCL_SIP_TRUNK_*", values.get("PERCL_SIP_TRUNK_NAME", "trunk").strip(),
                        values.get("PERCL_SIP_TRUNK_PROXY"),
                        values.get("PERCL_SIP_TRUNK_PREFIXES", ""),
                        values.get("PERCL_SIP_TRUNK_SOURCES", ""),
                        values.get("PERCL_SIP_TRUNK_USERNAME"),
                        values.get("PERCL_SIP_TRUNK_PASSWORD"),
                        _flag("PERCL_SIP_TRUNK_REGISTER", values.get("PERCL_SIP_TRUNK_REGISTER", "")),
                        _transport("PERCL_SIP_TRUNK_TRANSPORT",
                                   values.get("PERCL_SIP_TRUNK_TRANSPORT", "udp")))


def _transport(name: str, raw: object) -> str:
    text = str(raw).strip().lower() if isinstance(raw, str) else ""
    if text not in TRANSPORTS:
        raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(TRANSPORTS)}")
    return text


def _build_trunk(where: str, name: str, proxy: object, prefixes: object, sources: object,
                 username: object, password: object, register: bool = False,
                 transport: str = "udp") -> Trunk:
    if proxy is not None and not isinstance(proxy, str):
        raise ConfigError(f"{where}: proxy must be a string host[:port]")
    for key, value in (("username", username), ("password", password)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
    hop = _host_port(f"{where} proxy", proxy, DEFAULT_PORT) if proxy else None
    routes = _prefixes(f"{where} prefixes", _list(f"{where} prefixes", prefixes))
    if routes and hop is None:
        raise ConfigError(f"{where}: prefixes need a proxy to send the calls to")
    allowed = _sources(f"{where} sources", _list(f"{where} sources", sources))
    if hop is None and not allowed:
        raise ConfigError(f"{where}: give a proxy, sources, or both")
    if register and (hop is None or not username or not password):
        raise ConfigError(f"{where}: register needs a proxy (the registrar), a username and a "
                          "password")
    return Trunk(name=name, proxy=hop, prefixes=routes, sources=allowed,
                 username=cast("str | None", username) or None,
                 password=cast("str | None", password) or None, register=register,
                 transport=transport)
