#!/usr/bin/env python3
"""A TCP proxy on loopback that forwards what the client sends at RATE bytes
a second, and with STOP > 0 stops forwarding (and reading) after STOP
bytes: `slow_proxy.py UPSTREAM_HOST:PORT RATE STOP` prints its port. The
answers come back unthrottled. Its sockets have small buffers, so that the
throttling reaches the client instead of being absorbed by the kernel's
loopback buffers (a test whose upload fits in them would pass for nothing).
"""
import socket
import sys
import threading
import time

HOST, PORT = sys.argv[1].rsplit(":", 1)
RATE = int(sys.argv[2])
STOP = int(sys.argv[3])
BUF = 16384


def small(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUF)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUF)


def upward(client, upstream):
    sent = 0
    started = time.monotonic()
    try:
        while True:
            if STOP and sent >= STOP:
                time.sleep(3600)
            data = client.recv(4096)
            if not data:
                break
            upstream.sendall(data)
            sent += len(data)
            # Never ahead of RATE.
            ahead = sent / RATE - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    except OSError:
        pass
    finally:
        try:
            upstream.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def downward(upstream, client):
    try:
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass


listener = socket.socket()
small(listener)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)
while True:
    client, _ = listener.accept()
    small(client)
    upstream = socket.socket()
    small(upstream)
    upstream.connect((HOST, int(PORT)))
    threading.Thread(target=upward, args=(client, upstream), daemon=True).start()
    threading.Thread(target=downward, args=(upstream, client), daemon=True).start()
