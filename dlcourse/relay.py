"""The kernel's end of the grader's channel: ipykernel, and a thread that relays its messages.

The grader does not speak ZeroMQ to a sandboxed kernel. It hands the sandbox one end of a Unix
socket pair (a file descriptor, no path anyone could replace) and starts this module as the
kernel's program: ipykernel binds its sockets in a private folder of the sandbox, and a
thread forwards every message between the kernel's shell, control and iopub sockets and the
socket pair, as a byte stream framed like this::

    HEAD (channel index, number of frames)  SIZE (length) of each frame  the frames' bytes

So the grader learns the length of every frame before it reads the frame, and reads only what
it would keep (:mod:`grader.channel`). ZeroMQ itself cannot give it that: a multipart message
is buffered whole, whatever ``ZMQ_MAXMSGSIZE`` says about its parts. This module runs in the
student's kernel and can be replaced by it; the grader trusts none of what comes through.

Usage (the grader builds it): ``python -P -m dlcourse.relay --fd N --dir FOLDER -- [ipykernel options]``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading

CHANNELS = ("shell", "control", "iopub")
HEAD = struct.Struct("<BI")      # channel index in CHANNELS, number of frames
SIZE = struct.Struct("<Q")       # length of one frame in bytes
MAX_FRAMES = 64
PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}


def pack(channel: int, frames: list) -> list:
    """The byte strings that carry one message on the stream: head, sizes, then the frames."""
    sizes = [len(memoryview(f)) for f in frames]
    return [HEAD.pack(channel, len(frames)) + b"".join(SIZE.pack(n) for n in sizes), *frames]


def unpack(buffer: bytearray):
    """Take every complete message off the front of ``buffer``: yields ``(channel, frames)``."""
    while len(buffer) >= HEAD.size:
        channel, count = HEAD.unpack_from(buffer)
        end = HEAD.size + count * SIZE.size
        if len(buffer) < end:
            return
        sizes = [SIZE.unpack_from(buffer, HEAD.size + i * SIZE.size)[0] for i in range(count)]
        if len(buffer) < end + sum(sizes):
            return
        frames, start = [], end
        for n in sizes:
            frames.append(bytes(buffer[start:start + n]))
            start += n
        del buffer[:start]
        yield channel, frames


def connection_info(folder: str) -> dict:
    """ipykernel's connection file for ipc sockets in ``folder``, unsigned (the stream is private)."""
    return {"transport": "ipc", "ip": os.path.join(folder, "kernel"), "key": "", "signature_scheme": "hmac-sha256",
            "kernel_name": "", **PORTS}


def _relay(stream: socket.socket, info: dict) -> None:
    import zmq

    context = zmq.Context()
    sockets = {}
    for index, name in enumerate(CHANNELS):
        sock = context.socket(zmq.SUB if name == "iopub" else zmq.DEALER)
        if name == "iopub":
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(f"ipc://{info['ip']}-{info[name + '_port']}")
        sockets[index] = sock
    poller = zmq.Poller()
    for sock in sockets.values():
        poller.register(sock, zmq.POLLIN)
    poller.register(stream.fileno(), zmq.POLLIN)
    channel_of = {sock: index for index, sock in sockets.items()}
    pending = bytearray()
    while True:
        for item, _ in poller.poll():
            if item == stream.fileno():
                data = stream.recv(1 << 16)
                if not data:
                    os._exit(0)  # the grader is gone
                pending += data
                for channel, frames in unpack(pending):
                    sockets[channel].send_multipart(frames)
            else:
                for piece in pack(channel_of[item], item.recv_multipart(copy=False)):
                    stream.sendall(piece)


def main(argv: list[str] | None = None) -> None:
    """Start ipykernel on ipc sockets in ``--dir`` and relay it over the socket pair ``--fd``."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.relay")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args, kernel_args = parser.parse_known_args(argv)
    info = connection_info(args.dir)
    path = os.path.join(args.dir, "connection.json")
    with open(path, "w") as file:
        json.dump(info, file)
    stream = socket.socket(fileno=args.fd)
    os.set_inheritable(args.fd, False)  # the kernel's own children do not get the grader's channel

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", path, *[a for a in kernel_args if a != "--"]])   # binds the sockets
    threading.Thread(target=_relay, args=(stream, info), name="dlcourse-relay", daemon=True).start()
    # -P kept the submission's files from shadowing the relay's imports; the student's code
    # imports modules beside the notebook as under Jupyter, where the working folder comes first.
    sys.path.insert(0, os.getcwd())
    app.start()


if __name__ == "__main__":
    sys.exit(main())
