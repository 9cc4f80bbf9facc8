"""Who may talk to percl's SIP side, and how fast: source allow-lists, rate limits, no open relay.

Sans-I/O and clock-driven: `Admission.check(source_ip, now)` looks at the source alone (allow-list
and per-source token bucket); `Admission.check_request(request, source_ip, now)` adds what the
request asks for. The order is chosen so refusals leak nothing and cost little:

1. rate: each source address (each /64 for IPv6) has a token bucket; over it, an allowed source
   gets 503 with Retry-After, any other is dropped silently (answering a flood amplifies it);
2. source: an address inside a trunk's CIDRs is that trunk's; otherwise, when a `DigestVerifier`
   is configured, a registered user may authenticate (407 with a challenge until it does);
   otherwise 403;
3. relay: percl is a user agent, never a proxy: a Request-URI whose host is not one of ours is
   refused with 403, whoever asks;
4. number: an INVITE for a user part that is not one of the account numbers gets 404.

In-dialog requests (a To tag) are only rate-limited: the dialog they belong to was admitted.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from percl.telephony.sip.auth import DigestVerifier
from percl.telephony.sip.message import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_RATE = 20.0
"""Requests per second one source address may send, sustained."""
DEFAULT_BURST = 40.0
"""Requests one source address may send at once before the rate applies."""
DEFAULT_MAX_SOURCES = 10_000
"""Source addresses whose buckets are remembered (least recently seen forgotten first)."""


@dataclass(frozen=True, slots=True)
class Trunk:
    """A trunk's name and the networks its requests may come from."""

    name: str
    networks: tuple[Network, ...]

    @classmethod
    def from_cidrs(cls, name: str, cidrs: Iterable[str]) -> Trunk:
        """Build from text such as '203.0.113.0/24' or '2001:db8::1'; ValueError when bad."""
        networks: list[Network] = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"trunk {name!r}: {cidr!r} is not an address or CIDR") from exc
        return cls(name, tuple(networks))

    def allows(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.networks)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a request: admit it (status 0) or answer `status` (or nothing: silent)."""

    status: int = 0  # 0 admitted; else 403, 404, 407 or 503
    reason: str = ""
    trunk: str | None = None  # the trunk the source belongs to, when admitted by address
    user: str | None = None  # the user, when admitted by digest
    retry_after: int | None = None  # for 503
    challenge: str | None = None  # Proxy-Authenticate value, for 407
    silent: bool = False  # drop without answering

    @property
    def admitted(self) -> bool:
        return self.status == 0 and not self.silent


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets per key (a source address), `rate` per second up to `burst`, clock-driven."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: float = DEFAULT_BURST,
                 max_keys: int = DEFAULT_MAX_SOURCES) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[key] = bucket  # most recently seen last
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


def _bucket_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """IPv4 addresses count one by one; IPv6 ones by /64, what one host or site usually holds."""
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class Admission:
    """The SIP front door: see the module docstring for the checks and their order."""

    def __init__(self, trunks: Sequence[Trunk], *, local_domains: Iterable[str],
                 is_our_number: Callable[[str], bool], limiter: RateLimiter | None = None,
                 verifier: DigestVerifier | None = None) -> None:
        self.trunks = tuple(trunks)
        self.local_domains = frozenset(domain.lower() for domain in local_domains)
        self.is_our_number = is_our_number
        self.limiter = limiter or RateLimiter()
        self.verifier = verifier

    def check(self, source_ip: str, now: float) -> Verdict:
        """Rate limit and allow-list for a source address alone."""
        try:
            address = ipaddress.ip_address(source_ip)
        except ValueError:
            return Verdict(403, f"bad source address {source_ip!r}", silent=True)
        trunk = next((t for t in self.trunks if t.allows(address)), None)
        wait = self.limiter.take(_bucket_key(address), now)
        if wait > 0:
            if trunk is None and self.verifier is None:
                return Verdict(503, "rate limit", silent=True)
            return Verdict(503, "rate limit", retry_after=max(1, math.ceil(wait)))
        if trunk is None:
            return Verdict(403, "source not allowed")
        return Verdict(trunk=trunk.name)

    def check_request(self, request: Request, source_ip: str, now: float) -> Verdict:
        """Everything: rate, source (or digest), relay, number. See the module docstring."""
        verdict = self.check(source_ip, now)
        if verdict.status == 503 or verdict.silent:
            return verdict
        if request.to.tag is not None:
            return Verdict(trunk=verdict.trunk)  # in-dialog: its dialog was admitted
        if verdict.status == 403:
            verdict = self._authenticate(request, verdict)
            if not verdict.admitted:
                return verdict
        host = request.uri.host.lower()
        if not request.uri.is_sip or host not in self.local_domains:
            return Verdict(403, f"relaying denied: {host or request.uri.scheme} is not ours")
        if request.method == "INVITE" and not self.is_our_number(request.uri.user or ""):
            return Verdict(404, "not one of our numbers")
        return verdict

    def _authenticate(self, request: Request, refused: Verdict) -> Verdict:
        if self.verifier is None or request.method in ("ACK", "CANCEL"):
            return refused
        credentials = request.headers.get("Proxy-Authorization")
        if credentials is None:
            return Verdict(407, "authentication required", challenge=self.verifier.challenge())
        found = self.verifier.verify(credentials, method=request.method, uri=str(request.uri))
        if found.user is not None:
            return Verdict(user=found.user)
        if found.stale:
            return Verdict(407, "nonce expired",
                           challenge=self.verifier.challenge(stale=True))
        return Verdict(403, f"authentication failed: {found.reason}")
