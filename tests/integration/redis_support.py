"""A redis-server of the test's own (Debian's binary) on a free loopback port."""

import shutil
import socket
import subprocess

import pytest

import deploy_support
from conftest import wait_for


class RedisServer:
    """Debian's redis-server on a fixed loopback port, without persistence: stopped and
    started again by the tests as an outage would."""

    def __init__(self, workdir):
        self.port = deploy_support.free_port()
        self.workdir = workdir
        self.proc = None

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing: scripts/install-deps installs the Debian package redis-server")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.workdir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, "redis-server to listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def call(self, *args):
        """One command over RESP; the reply as an int, a str, or None."""
        request = f"*{len(args)}\r\n" + "".join(f"${len(str(a).encode())}\r\n{a}\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(request.encode())
            reply = s.makefile("rb")
            line = reply.readline().decode().rstrip("\r\n")
            kind, rest = line[0], line[1:]
            if kind == ":":
                return int(rest)
            if kind in "+-":
                return rest
            if kind == "$":
                return None if rest == "-1" else reply.read(int(rest) + 2)[:-2].decode()
            raise AssertionError(f"an unexpected reply: {line}")
