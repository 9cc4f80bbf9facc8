"""baresip (Debian's package) as a real user agent for the SIP tests, on 127.0.0.1 only.

It auto-answers, sends a WAV file as its microphone (aufile; padded with silence, as baresip hangs
up when the file ends), records what it hears (sndfile writes dump-*-dec.wav into its folder) and
takes commands over ctrl_tcp: netstring-framed JSON such as {"command": "dial", "params": uri}.
Its events (CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED...) arrive the same way.
"""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sip_platform import free_udp_port

Pcm = npt.NDArray[np.int16]


def free_tcp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_wav(path: Path, pcm: Pcm, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype(np.int16).tobytes())


def read_wav(path: Path) -> tuple[Pcm, int]:
    with wave.open(str(path), "rb") as handle:
        data = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
        if handle.getnchannels() > 1:
            data = data[:: handle.getnchannels()]
        return data, handle.getframerate()


class Baresip:
    """One baresip process. `await start()`, `await command(...)`, `await event(name)`,
    `await stop()` (always: it kills the process by its PID)."""

    def __init__(self, folder: Path, source: Pcm, user: str = "baresip",
                 account: str | None = None) -> None:
        """`user`: its account's user part, which the Request-URI of a call to it must name;
        `account`: the whole accounts line instead (e.g. one that registers with a password)."""
        self.folder = folder
        self.sip_port = free_udp_port()
        self.ctrl_port = free_tcp_port()
        rtp = free_udp_port() & ~1
        folder.mkdir(parents=True, exist_ok=True)
        write_wav(folder / "source.wav", np.concatenate([source, np.zeros(8000 * 30, np.int16)]))
        (folder / "config").write_text("\n".join([
            "poll_method epoll", f"sip_listen 127.0.0.1:{self.sip_port}",
            "audio_player aubridge,nil", f"audio_source aufile,{folder / 'source.wav'}",
            "audio_alert aubridge,nil", "module_path /usr/lib/baresip/modules",
            "module g711.so", "module aufile.so", "module aubridge.so", "module sndfile.so",
            "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so", f"snd_path {folder}",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}", f"rtp_ports {rtp}-{rtp + 40}", ""]))
        (folder / "accounts").write_text((account or (
            f"<sip:{user}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU")) + "\n")
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(self.folder), "-n", "127.0.0.1", "-4",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(100):  # up to 5 s for its control port
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("baresip's ctrl_tcp never listened")
        self._pump = asyncio.create_task(self._read_events())

    async def command(self, command: str, params: str = "") -> None:
        assert self._writer is not None
        body = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        self._writer.write(str(len(body)).encode() + b":" + body + b",")
        await self._writer.drain()

    async def _read_events(self) -> None:
        assert self._reader is not None
        while True:
            length = await self._reader.readuntil(b":")
            body = await self._reader.readexactly(int(length[:-1]))
            await self._reader.readexactly(1)  # the netstring's ","
            self.events.append(json.loads(body))

    def saw(self, event_type: str) -> bool:
        return any(e.get("type") == event_type for e in self.events)

    async def event(self, event_type: str, within: float) -> bool:
        deadline = asyncio.get_running_loop().time() + within
        while not self.saw(event_type):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def heard(self) -> Pcm:
        """What baresip received and decoded (sndfile's dump-*-dec.wav), at 8 kHz."""
        files = sorted(self.folder.glob("dump-*-dec.wav"))
        assert files, f"baresip wrote no recording in {self.folder}"
        pcm, rate = read_wav(files[-1])
        if rate != 8000:  # baresip may run its audio at another rate: bring it to 8 kHz
            pcm = pcm[:: rate // 8000] if rate % 8000 == 0 else pcm
        return pcm

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self._writer is not None:
            self._writer.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()  # our own baresip, by its PID
            await self.proc.wait()
