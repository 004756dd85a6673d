"""A real SMTP server on loopback for the tests (Debian's python3-aiosmtpd), keeping every
message it receives so that tests can read verification and reset links out of them."""

import email
import email.policy
import re
import socket
import threading

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": msg,
                                  "raw": envelope.content})
            self.cond.notify_all()
        return "250 OK"


class SmtpSink:
    def __init__(self):
        self.handler = _Handler()
        with socket.socket() as s:  # the controller checks readiness by connecting: it needs a real port
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, to, count=1, timeout=10):
        """The `count`-th message to `to` (waiting for it), as an email.message object."""
        with self.handler.cond:
            ok = self.handler.cond.wait_for(
                lambda: len([m for m in self.handler.messages if to in m["to"]]) >= count, timeout)
            assert ok, f"no message #{count} to {to}; got {[m['to'] for m in self.handler.messages]}"
            return [m for m in self.handler.messages if to in m["to"]][count - 1]

    def count(self, to):
        with self.handler.cond:
            return len([m for m in self.handler.messages if to in m["to"]])

    @staticmethod
    def text_of(entry):
        msg = entry["message"]
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content()

    @classmethod
    def token_in(cls, entry):
        m = re.search(r"token=([A-Za-z0-9_%.-]+)", cls.text_of(entry))
        assert m, cls.text_of(entry)
        from urllib.parse import unquote
        return unquote(m.group(1))
