"""Flag values the way a person types them: `--url localhost:8600`, and errors that name the
flag the person typed (not the environment variable the flag stands for)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import click

SCHEMES = ("http", "https")
SERVE_FLAGS = {"PERCL_HOST": "--host", "PERCL_PORT": "--port", "PERCL_DB": "--db",
               "PERCL_WEBHOOK_TIMEOUT_MS": "--webhook-timeout-ms",
               "PERCL_MEDIA_TIME_SCALE": "--media-time-scale", "PERCL_MEDIA": "--media",
               "PERCL_TLS_CERT": "--tls-cert", "PERCL_TLS_KEY": "--tls-key",
               "PERCL_WORKERS": "--workers"}  # `percl serve`'s flags


def normal_url(raw: str) -> str:
    """`raw` as a base URL: `localhost:8600` and `127.0.0.1:8600` mean http://...; no trailing
    slash. Raises click.BadParameter (naming --url) for another scheme or no host."""
    text = raw.strip()
    url = text if "://" in text else f"http://{text}"
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise click.BadParameter(f"{raw!r}: expected http://host:port (or host:port)",
                                 param_hint="--url")
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        raise click.BadParameter(f"{raw!r}: the port is not a number", param_hint="--url") from None
    return url.rstrip("/")


def flag_named(message: str, flags: Mapping[str, str], given: Mapping[str, object]) -> str:
    """A configuration error about variable NAME (`NAME=...` or `NAME: ...`) retold about its
    flag when the value came from that flag. `flags` maps variable names to flag names;
    `given` holds the flags' values by variable name (None when the flag was not given)."""
    for name, flag in flags.items():
        if given.get(name) is not None and message.startswith((f"{name}=", f"{name}:")):
            rest = message[len(name):]
            return f"{flag} {rest[1:]}" if rest.startswith("=") else f"{flag}{rest}"
    return message
