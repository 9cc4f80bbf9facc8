"""`percl ...` commands. The only place where environment, files and flags become Settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from percl.cli.browse import calls_cmd, logs_cmd
from percl.cli.flags import SERVE_FLAGS, flag_named
from percl.cli.simcmd import sim
from percl.cli.trace import trace_cmd
from percl.config import from_sources
from percl.errors import ConfigError


@click.group()
@click.version_option(package_name="percl")
def cli() -> None:
    """percl: a self-hosted FreeClimb-compatible voice platform with a simulated phone network."""


@cli.command()
@click.option("--host", help="Listen address [env PERCL_HOST, default 127.0.0.1].")
@click.option("--port", type=str, help="Listen port [env PERCL_PORT, default 8600].")
@click.option("--db", help="SQLite file [env PERCL_DB, default var/percl.db].")
@click.option("--webhook-timeout-ms", type=str, help="[env PERCL_WEBHOOK_TIMEOUT_MS, default 10000]")
@click.option("--media-time-scale", type=str,
              help="1.0 real time, 0 instant [env PERCL_MEDIA_TIME_SCALE, default 1.0].")
@click.option("--demo/--no-demo", default=False,
              help="Also serve the bundled example app and wire a number to it.")
@click.option("--demo-app", default="examples/demo_app.py", show_default=True,
              type=click.Path(dir_okay=False), help="The example app file used by --demo.")
def serve(host: str | None, port: str | None, db: str | None, webhook_timeout_ms: str | None,
          media_time_scale: str | None, demo: bool, demo_app: str) -> None:
    """Start percl: REST API at /apiserver, sim control API at /sim/v1."""
    overrides = {"PERCL_HOST": host, "PERCL_PORT": port, "PERCL_DB": db,
                 "PERCL_WEBHOOK_TIMEOUT_MS": webhook_timeout_ms,
                 "PERCL_MEDIA_TIME_SCALE": media_time_scale}
    try:
        settings = from_sources(os.environ, overrides)
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {flag_named(str(exc), SERVE_FLAGS, overrides)}") from None
    from percl.cli.serve import run_server

    run_server(settings, demo_app=Path(demo_app) if demo else None, console=Console())


cli.add_command(sim)
cli.add_command(trace_cmd)
cli.add_command(calls_cmd)
cli.add_command(logs_cmd)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)

