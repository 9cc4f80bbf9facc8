"""SIP digest authentication (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760), sans-I/O.

Client side: a provider's registrar or proxy answers 401 (WWW-Authenticate) or 407
(Proxy-Authenticate); `with_credentials` turns the refused request into the one to send again
(a new CSeq and branch, the same Call-ID and From tag, the credentials header). Where a server
offers several challenges (RFC 8760: SHA-256 first, MD5 for old phones), the strongest one percl
can answer is taken.

Server side: `DigestVerifier` issues nonces that need no server state -- a timestamp, a random
salt and an HMAC of both under a per-process secret -- and checks an Authorization header against
a user table. A nonce older than `nonce_ttl` is refused as `stale`, so a client with the right
password answers the fresh challenge without asking its user again. Replays of a valid response
inside the nonce's lifetime are not detected (that would need per-nonce state): the lifetime is
kept short instead.

A password is never part of any value this module returns or raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from percl.telephony.sip.message import Request, Response, Via
from percl.telephony.sip.transaction import new_branch

ALGORITHMS: dict[str, str] = {
    "MD5": "md5", "MD5-SESS": "md5", "SHA-256": "sha256", "SHA-256-SESS": "sha256",
}
"""Digest algorithms percl answers and checks, by upper-case name (RFC 8760 adds SHA-256)."""
_STRENGTH = {"SHA-256": 2, "SHA-256-SESS": 2, "MD5": 1, "MD5-SESS": 1}
DEFAULT_NONCE_TTL = 300.0
"""Seconds a nonce from `DigestVerifier` stays valid; after that the client gets stale=true."""

_PARAM = re.compile(
    r'[ \t]*([A-Za-z0-9\-_.]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^,\s"]+)[ \t]*(?:,|\Z)')


def credentials_header(status: int) -> str:
    """The header that answers a challenge: Authorization for 401, Proxy-Authorization for 407."""
    if status == 401:
        return "Authorization"
    if status == 407:
        return "Proxy-Authorization"
    raise ValueError(f"status {status} carries no digest challenge (401 or 407 do)")


def challenge_header(status: int) -> str:
    """The header carrying the challenge: WWW-Authenticate in a 401, Proxy-Authenticate in a 407."""
    return "WWW-Authenticate" if credentials_header(status) == "Authorization" else (
        "Proxy-Authenticate")


def parse_digest_params(value: str) -> dict[str, str]:
    """`Digest a=b, c="d"` into {'a': 'b', 'c': 'd'} (names lower-cased, quotes removed).

    Raises ValueError when the scheme is not Digest or the parameter list is malformed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge or credentials: {value[:60]!r}")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"malformed digest parameters at {rest[pos:pos + 40]!r}")
        name, raw = match.group(1).lower(), match.group(2)
        if name in params:
            raise ValueError(f"digest parameter {name!r} appears twice")
        params[name] = _unquote(raw)
        pos = match.end()
    return params


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class Challenge:
    """One digest challenge from a WWW-Authenticate or Proxy-Authenticate header."""

    realm: str
    nonce: str
    opaque: str | None = None
    algorithm: str = "MD5"  # upper-case, one of ALGORITHMS
    qop: tuple[str, ...] = ()  # the qop options offered, lower-case; () for RFC 2069 servers
    stale: bool = False

    @classmethod
    def parse(cls, header_value: str) -> Challenge:
        """Parse a challenge; ValueError when it is garbage or asks for what percl cannot do."""
        params = parse_digest_params(header_value)
        if "realm" not in params or not params.get("nonce"):
            raise ValueError("a digest challenge needs realm and nonce")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported digest algorithm {algorithm[:30]!r}")
        qop = tuple(q.strip().lower() for q in params["qop"].split(",") if q.strip()) if (
            "qop" in params) else ()
        if qop and "auth" not in qop:
            raise ValueError(f"no supported qop in {params['qop'][:30]!r} (percl answers 'auth')")
        return cls(realm=params["realm"], nonce=params["nonce"], opaque=params.get("opaque"),
                   algorithm=algorithm, qop=qop, stale=params.get("stale", "").lower() == "true")

    @classmethod
    def best(cls, header_values: list[str]) -> Challenge:
        """The strongest challenge percl can answer among several (RFC 8760 section 2.4)."""
        usable: list[Challenge] = []
        errors: list[str] = []
        for value in header_values:
            try:
                usable.append(cls.parse(value))
            except ValueError as exc:
                errors.append(str(exc))
        if not usable:
            raise ValueError("no usable digest challenge: " + ("; ".join(errors) or "none given"))
        return max(usable, key=lambda c: _STRENGTH[c.algorithm])


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(ALGORITHMS[algorithm], text.encode("utf-8", "surrogateescape")).hexdigest()


def digest_response(*, algorithm: str, realm: str, nonce: str, username: str, password: str,
                    method: str, uri: str, qop: str | None = None, nc: str = "",
                    cnonce: str = "") -> str:
    """The `response` value (RFC 7616 3.4.1); `qop` None is the RFC 2069 form."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop is None:
        return _h(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def authorization(challenge: Challenge, *, method: str, uri: str, username: str, password: str,
                  nc: int = 1, cnonce: str | None = None) -> str:
    """The Authorization (or Proxy-Authorization) header value answering `challenge`."""
    qop = "auth" if challenge.qop else None
    if qop is not None or challenge.algorithm.endswith("-SESS"):
        cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = digest_response(
        algorithm=challenge.algorithm, realm=challenge.realm, nonce=challenge.nonce,
        username=username, password=password, method=method, uri=uri, qop=qop, nc=nc_text,
        cnonce=cnonce or "")
    parts = [f"username={_quote(username)}", f"realm={_quote(challenge.realm)}",
             f"nonce={_quote(challenge.nonce)}", f"uri={_quote(uri)}",
             f"response={_quote(response)}", f"algorithm={challenge.algorithm}"]
    if cnonce:
        parts.append(f"cnonce={_quote(cnonce)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc_text}"]
    return "Digest " + ", ".join(parts)


def with_credentials(request: Request, response: Response, username: str,
                     password: str) -> Request:
    """The request to send again after a 401/407 `response` to `request` (RFC 3261 22.2).

    Same Call-ID, From (and tag), To and body; CSeq one higher; a new Via branch; credentials
    for the challenge's realm replace any the request already carried for that realm (a proxy's
    407 after a registrar's 401 adds a second header). Raises ValueError when `response` is no
    401/407 or holds no challenge percl can answer.
    """
    header = credentials_header(response.status)
    challenge = Challenge.best(response.headers.get_all(challenge_header(response.status)))
    uri = str(request.uri)
    value = authorization(challenge, method=request.method, uri=uri, username=username,
                          password=password)
    headers = request.headers.remove(header)
    for kept in request.headers.get_all(header):
        if parse_digest_params(kept).get("realm") != challenge.realm:
            headers = headers.add(header, kept)
    headers = headers.add(header, value)
    top, *rest = request.vias
    kept_params = tuple(p for p in top.params if p[0].lower() != "branch")
    vias = (Via(top.transport, top.host, top.port, (*kept_params, ("branch", new_branch()))),
            *rest)
    headers = headers.remove("Via")
    for via in reversed(vias):
        headers = headers.add("Via", str(via), first=True)
    headers = headers.set("CSeq", f"{request.cseq.number + 1} {request.method}")
    return replace(request, headers=headers)


# ----------------------------------------------------------------------------- server side


@dataclass(frozen=True, slots=True)
class Verification:
    """What `DigestVerifier.verify` found: the user when the credentials are good."""

    user: str | None
    stale: bool = False  # right password on an expired nonce: challenge again with stale=true
    reason: str = ""


class DigestVerifier:
    """Issue stateless nonces for `realm` and check credentials against `users` (name -> password).

    `clock` gives seconds (wall or monotonic: only differences matter within one process).
    """

    def __init__(self, realm: str, users: Mapping[str, str], clock: Callable[[], float], *,
                 nonce_ttl: float = DEFAULT_NONCE_TTL, algorithm: str = "MD5",
                 secret: bytes | None = None) -> None:
        if algorithm.upper() not in ALGORITHMS:
            raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        self.realm = realm
        self._users = users
        self._clock = clock
        self.nonce_ttl = nonce_ttl
        self.algorithm = algorithm.upper()
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.opaque = secrets.token_hex(8)

    def _sign(self, stamp: str, salt: str) -> str:
        mac = hmac.new(self._secret, f"{stamp}.{salt}.{self.realm}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:18]).decode()

    def nonce(self) -> str:
        stamp = f"{int(self._clock() * 1000):x}"
        salt = secrets.token_hex(6)
        return f"{stamp}.{salt}.{self._sign(stamp, salt)}"

    def challenge(self, *, stale: bool = False) -> str:
        """A WWW-Authenticate / Proxy-Authenticate value with a fresh nonce."""
        value = (f"Digest realm={_quote(self.realm)}, nonce={_quote(self.nonce())}, "
                 f"opaque={_quote(self.opaque)}, algorithm={self.algorithm}, qop=\"auth\"")
        return value + (", stale=true" if stale else "")

    def _nonce_age(self, nonce: str) -> float | None:
        """Seconds since `nonce` was issued, None when this verifier did not issue it."""
        parts = nonce.split(".")
        if len(parts) != 3 or not hmac.compare_digest(parts[2], self._sign(parts[0], parts[1])):
            return None
        try:
            issued = int(parts[0], 16) / 1000
        except ValueError:
            return None
        return self._clock() - issued

    def verify(self, header_value: str, *, method: str, uri: str | None = None) -> Verification:
        """Check an Authorization header for a request with `method` (and Request-URI `uri`)."""
        try:
            creds = parse_digest_params(header_value)
        except ValueError as exc:
            return Verification(None, reason=str(exc))
        username = creds.get("username", "")
        password = self._users.get(username)
        algorithm = creds.get("algorithm", "MD5").upper()
        if password is None:
            return Verification(None, reason="unknown user")
        if creds.get("realm") != self.realm or algorithm != self.algorithm:
            return Verification(None, reason="wrong realm or algorithm")
        if uri is not None and creds.get("uri") != uri:
            return Verification(None, reason="digest uri is not the Request-URI")
        age = self._nonce_age(creds.get("nonce", ""))
        if age is None or age < 0:
            return Verification(None, reason="nonce not issued here")
        qop = creds.get("qop")
        if qop not in (None, "auth") or (qop and not (creds.get("nc") and creds.get("cnonce"))):
            return Verification(None, reason="bad qop, nc or cnonce")
        expected = digest_response(
            algorithm=algorithm, realm=self.realm, nonce=creds["nonce"], username=username,
            password=password, method=method, uri=creds.get("uri", ""), qop=qop,
            nc=creds.get("nc", ""), cnonce=creds.get("cnonce", ""))
        if not hmac.compare_digest(expected, creds.get("response", "").lower()):
            return Verification(None, reason="wrong response")
        if age > self.nonce_ttl:
            return Verification(None, stale=True, reason="nonce expired")
        return Verification(username)

    def check(self, header_value: str, *, method: str, uri: str | None = None) -> str | None:
        """The authenticated user, or None (see `verify` for why and for stale nonces)."""
        return self.verify(header_value, method=method, uri=uri).user
