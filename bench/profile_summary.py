"""Summarise a py-spy raw profile (collapsed stacks) into the tables docs/BENCHMARKS.md quotes.

    .venv/bin/python bench/setup_rate.py --profile /tmp/percl-prof.txt
    .venv/bin/python bench/profile_summary.py /tmp/percl-prof.txt [--top 25]
    .venv/bin/python bench/setup_rate.py --cprofile /tmp/percl.pstats
    .venv/bin/python bench/profile_summary.py --pstats /tmp/percl.pstats

Each line of the input is `frame;frame;...;frame count` (py-spy `--format raw`, optionally with
`--threads`, which puts a `thread (0x...)` frame first). Printed, as % of all samples:

- threads: where the samples were taken (the event loop's thread vs aiosqlite's worker);
- areas: self time grouped by library or percl package (what a fix would have to touch);
- functions by self time (the code that was running), and percl's functions by total time
  (it or its callees: which percl code path the time was spent under).

With --pstats the input is a cProfile stats file (bench/cprofile_percl.py) and the same tables are
printed from its tottime/cumtime (CPU seconds of the event loop's thread).
"""

from __future__ import annotations

import argparse
import pstats
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

FRAME_RE = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# First match wins: (substring of the frame's file path, area name).
AREAS: tuple[tuple[str, str], ...] = (
    ("/percl/store/", "percl.store (SQLite adapter)"),
    ("/percl/webhooks/", "percl.webhooks"),
    ("/percl/engine/", "percl.engine"),
    ("/percl/percl/", "percl.percl (PerCL language)"),
    ("/percl/api/", "percl.api (REST)"),
    ("/percl/simapi/", "percl.simapi"),
    ("/percl/telephony/", "percl.telephony (sim network)"),
    ("/percl/domain/", "percl.domain"),
    ("/percl/", "percl (other)"),
    ("/sqlalchemy/", "sqlalchemy"),
    ("/aiosqlite/", "aiosqlite"),
    ("sqlite3", "sqlite3"),
    ("/aiohttp/", "aiohttp"),
    ("/uvicorn/", "uvicorn"),
    ("/starlette/", "starlette"),
    ("/fastapi/", "fastapi"),
    ("/pydantic", "pydantic"),
    ("/json/", "json"),
    ("/asyncio/runners.py", "event loop (uvloop's C code, under Runner.run)"),
    ("/asyncio/", "asyncio"),
    ("/uvloop/", "uvloop"),
    ("/email/", "email (header parsing)"),
    ("/http/", "http"),
    ("/hmac.py", "hmac"),
    ("/threading.py", "threading"),
    ("/logging/", "logging"),
)


@dataclass
class Profile:
    total: int = 0
    threads: Counter[str] = field(default_factory=Counter)
    self_time: Counter[str] = field(default_factory=Counter)
    total_time: Counter[str] = field(default_factory=Counter)
    areas: Counter[str] = field(default_factory=Counter)


def area_of(frame: str) -> str:
    m = FRAME_RE.match(frame)
    # py-spy prints paths relative to site-packages ("aiohttp/client.py"): anchor them with a "/".
    path = "/" + (m.group("file") if m else frame).lstrip("/")
    for needle, name in AREAS:
        if needle in path:
            return name
    return "other: " + Path(path).name


def short(frame: str) -> str:
    """`func (…/site-packages/pkg/mod.py:12)` -> `func (pkg/mod.py:12)`."""
    m = FRAME_RE.match(frame)
    if not m:
        return frame
    parts = Path(m.group("file")).parts
    where = "/".join(parts[-2:]) if len(parts) >= 2 else m.group("file")
    return f"{m.group('func')} ({where}{':' + m.group('line') if m.group('line') else ''})"


def parse(lines: Iterable[str]) -> Profile:
    """Read collapsed stacks. Lines that are not `stack count` are skipped."""
    prof = Profile()
    for raw in lines:
        stack, _, count_text = raw.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = "main"
        if frames and frames[0].startswith("thread ("):
            thread = frames.pop(0)
        prof.total += count
        prof.threads[thread] += count
        if not frames:
            continue
        prof.self_time[short(frames[-1])] += count
        prof.areas[area_of(frames[-1])] += count
        for name in set(frames):
            prof.total_time[name] += count
    return prof


def report(prof: Profile, top: int) -> list[str]:
    def pct(n: int) -> str:
        return f"{100 * n / prof.total:5.1f}%"

    out = [f"{prof.total} samples"]
    out += ["threads:"] + [f"  {pct(n)}  {t}" for t, n in prof.threads.most_common()]
    out += ["self time by area:"] + [f"  {pct(n)}  {a}" for a, n in prof.areas.most_common(top)]
    out += ["functions by self time:"]
    out += [f"  {pct(n)}  {f}" for f, n in prof.self_time.most_common(top)]
    out += ["percl functions by total time (incl. callees):"]
    mine = [(f, n) for f, n in prof.total_time.most_common() if _is_percl(f)]
    out += [f"  {pct(n)}  {short(f)}" for f, n in mine[:top]]
    return out


def _is_percl(frame: str) -> bool:
    path = "/" + (m.group("file") if (m := FRAME_RE.match(frame)) else frame).lstrip("/")
    return "/percl/" in path and "/percl/cli/" not in path


def from_pstats(path: Path) -> tuple[float, list[tuple[str, float, float]]]:
    """(total CPU seconds, [(`func (full path:line)`, tottime, cumtime)]) of a cProfile file."""
    stats = pstats.Stats(str(path))
    rows = []
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((f"{func} ({file}:{line})", tt, ct))
    return float(stats.total_tt), rows  # type: ignore[attr-defined]


def report_pstats(total: float, rows: list[tuple[str, float, float]], top: int) -> list[str]:
    def pct(v: float) -> str:
        return f"{100 * v / total:5.1f}%"

    areas: Counter[str] = Counter()
    for name, tt, _ in rows:
        areas[area_of(name)] += round(tt * 1e6)
    out = [f"{total:.2f} CPU seconds on the event loop's thread"]
    out += ["self time by area:"] + [f"  {pct(v / 1e6)}  {a}" for a, v in areas.most_common(top)]
    out += ["functions by self time:"]
    out += [f"  {pct(tt)}  {short(n)}" for n, tt, _ in sorted(rows, key=lambda r: -r[1])[:top]]
    out += ["percl functions by total time (incl. callees):"]
    mine = [r for r in rows if _is_percl(r[0])]
    out += [f"  {pct(ct)}  {short(n)}" for n, _, ct in sorted(mine, key=lambda r: -r[2])[:top]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="summarise a py-spy raw profile")
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pstats", action="store_true", help="the file is cProfile output")
    args = parser.parse_args()
    if args.pstats:
        print("\n".join(report_pstats(*from_pstats(args.file), args.top)))
        return
    with args.file.open() as fh:
        print("\n".join(report(parse(fh), args.top)))


if __name__ == "__main__":
    main()
