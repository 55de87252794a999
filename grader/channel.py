"""The grader's end of its channel to a kernel: a socket pair, read within bounds.

The kernel's side (:mod:`dlcourse.relay`) runs in the sandbox and frames every ZeroMQ
message as a head, the length of each frame, then the frames. Everything arriving here is the
student's: this end reads a message's small frames (its header and its parent's), asks the
caller whether it wants the content at that size, and otherwise skips the bytes without
keeping them. So the grader never holds more of a message than it would keep, however large
the kernel makes it, and it connects to no path the sandbox could have changed.
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import dataclass
from typing import Callable

from jupyter_client.session import Session

from dlcourse.relay import CHANNELS, HEAD, MAX_FRAMES, SIZE, pack

DELIMITER = b"<IDS|MSG>"
SMALL_FRAME = 65_536      # identities, signature, header, parent header and metadata are never larger
SKIP_CHUNK = 1 << 20
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")   # how JSON writes a surrogate (paired or not)

# wants(channel, msg_type, parent msg_id, size of the content in bytes) -> read the content?
Wants = Callable[[str, str, str, int], bool]


def _text(value):
    """``value`` with every string made encodable: JSON's ``\\ud800`` escapes give lone surrogates,
    which no UTF-8 file, page or database accepts (one in a row's message would stop grades.csv)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    return value


def _unpack(data: bytes):
    value = json.loads(data)
    return _text(value) if SURROGATE_ESCAPE.search(data) else value


class ChannelClosed(Exception):
    """The kernel's end went away, or sent something that is not a framed message."""


@dataclass
class Received:
    """One message from the kernel: ``msg`` is None when its content was skipped unread."""
    channel: str
    msg_type: str
    parent_id: str
    size: int                   # bytes of its content
    msg: dict | None = None


class KernelChannel:
    """Messages to and from one kernel over ``sock`` (the grader's end of the pair)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.session = Session(username="grader", unpack=_unpack)
        self.session.key = b""      # unsigned: no one else can write to a socket pair (an empty key at creation would warn)
        self.wants: Wants = lambda *_: False
        self.reader = self.writer = None
        self._pending: asyncio.Future | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.sock, limit=SKIP_CHUNK)

    def send(self, channel: str, msg_type: str, content: dict) -> str:
        """Send a request on ``channel`` (shell or control); returns its msg_id."""
        msg = self.session.msg(msg_type, content)
        self.writer.writelines(pack(CHANNELS.index(channel), self.session.serialize(msg)))
        return msg["header"]["msg_id"]

    async def next(self, timeout: float) -> Received | None:
        """The next message, or None after ``timeout`` seconds (a message half read is kept for later).

        Raises:
            ChannelClosed: the kernel's end closed or broke the framing.
        """
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._read())
        done, _ = await asyncio.wait({self._pending}, timeout=timeout)
        if not done:
            return None
        task, self._pending = self._pending, None
        return task.result()

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()

    async def _exactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise ChannelClosed("the kernel's end of the channel closed") from error

    async def _skip(self, n: int) -> None:
        while n > 0:
            n -= len(await self._exactly(min(n, SKIP_CHUNK)))

    async def _read(self) -> Received:
        channel, count = HEAD.unpack(await self._exactly(HEAD.size))
        if channel >= len(CHANNELS) or not 0 < count <= MAX_FRAMES:
            raise ChannelClosed(f"the kernel sent a malformed message (channel {channel}, {count} frames)")
        raw = await self._exactly(SIZE.size * count)
        sizes = [SIZE.unpack_from(raw, i * SIZE.size)[0] for i in range(count)]
        name = CHANNELS[channel]
        small: list[bytes] = []
        for position, size in enumerate(sizes):
            delimiter = small.index(DELIMITER) if DELIMITER in small else None
            if delimiter is not None and position == delimiter + 5:       # the content frame
                return await self._content(name, small[delimiter + 1:], sizes[position:])
            if size > SMALL_FRAME:
                break
            small.append(await self._exactly(size))
        await self._skip(sum(sizes[len(small):]))
        return Received(name, "", "", sum(sizes))     # no content frame where one belongs: dropped

    async def _content(self, channel: str, frames: list[bytes], sizes: list[int]) -> Received:
        """``frames``: signature, header, parent header, metadata; ``sizes``: the content's, then buffers'."""
        try:
            header, parent = json.loads(frames[1]), json.loads(frames[2])
            kind, parent_id = str(header.get("msg_type", "")), str(parent.get("msg_id", ""))
        except (ValueError, AttributeError):
            await self._skip(sum(sizes))
            return Received(channel, "", "", sizes[0])
        got = Received(channel, kind, parent_id, sizes[0])
        if not self.wants(channel, kind, parent_id, sizes[0]):
            await self._skip(sum(sizes))
            return got
        content = await self._exactly(sizes[0])
        await self._skip(sum(sizes[1:]))        # buffers: the grader uses none
        try:
            got.msg = self.session.deserialize([*frames, content], content=True)
        except Exception:  # anything malformed is dropped, whatever jupyter_client raises for it
            got.msg = None
        return got
