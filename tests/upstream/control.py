"""Starts fake_llm.py as a subprocess for tests and benchmarks and talks to its control endpoints.

    with FakeUpstream(openai_key="sk-test") as fake:
        ... point chatd at fake.url ...
        entries = fake.wait_log(lambda e: e["ended"] == "client_closed")
"""

import http.client
import json
import os
import selectors
import ssl
import subprocess
import sys
import tempfile
import time

FAKE_LLM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_llm.py")


class FakeUpstream:
    """One fake_llm.py process listening on a free loopback port.

    Keys left as None turn the matching check off. `aws` is (access_key_id, secret_access_key,
    region) or (..., session_token). TLS needs both tls_cert and tls_key (PEM files);
    make_self_signed_cert() writes a pair.
    """

    def __init__(self, openai_key=None, anthropic_key=None, aws=None, models=None, tls_cert=None, tls_key=None,
                 host="127.0.0.1", start_timeout=10.0):
        self.host = host
        self.tls_cert = tls_cert
        self.args = [sys.executable, FAKE_LLM, "--host", host, "--port", "0"]
        if tls_cert or tls_key:
            self.args += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        if openai_key is not None:
            self.args += ["--openai-key", openai_key]
        if anthropic_key is not None:
            self.args += ["--anthropic-key", anthropic_key]
        if aws is not None:
            self.args += ["--aws-access-key-id", aws[0], "--aws-secret-access-key", aws[1], "--aws-region", aws[2]]
            if len(aws) > 3 and aws[3]:
                self.args += ["--aws-session-token", aws[3]]
        if models is not None:
            self.args += ["--models", ",".join(models)]
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self._stderr = None
        self._stderr_text = ""

    # ---- process
    def start(self):
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    self.stop()
                    raise RuntimeError(f"fake_llm did not say it was listening within {self.start_timeout}s: "
                                       f"{self.stderr()}")
                byte = os.read(self.proc.stdout.fileno(), 1)
                if not byte:
                    self.stop()
                    raise RuntimeError(f"fake_llm exited before listening: {self.stderr()}")
                line += byte
        word, _, port = line.decode().strip().partition(" ")
        if word != "listening" or not port.isdigit():
            self.stop()
            raise RuntimeError(f"unexpected first line from fake_llm: {line!r}")
        self.port = int(port)
        return self

    def stop(self):
        """Kills the process and waits for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            self.proc.stdout.close()
        if self._stderr is not None:
            self._stderr_text = self.stderr()
            self._stderr.close()
            self._stderr = None

    def stderr(self):
        """What the process wrote to stderr so far (tracebacks of unexpected errors)."""
        if self._stderr is None:
            return self._stderr_text
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- addresses
    @property
    def scheme(self):
        return "https" if self.tls_cert else "http"

    @property
    def url(self):
        """Base URL without a trailing slash, e.g. http://127.0.0.1:4711 (append /v1 for OpenAI)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def connection(self, timeout=10):
        """A new http.client connection to the fake (trusting its certificate when TLS is on)."""
        if self.tls_cert:
            context = ssl.create_default_context(cafile=self.tls_cert)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _control(self, method, path):
        conn = self.connection()
        try:
            conn.request(method, path)
            res = conn.getresponse()
            data = res.read()
            if res.status != 200:
                raise RuntimeError(f"{method} {path}: {res.status} {data!r}")
            return json.loads(data)
        finally:
            conn.close()

    # ---- control endpoints
    def log(self):
        """Every request received so far (see fake_llm's docstring for the entry format)."""
        return self._control("GET", "/_log")

    def reset(self):
        """Clears the log and the #failN-500 counters."""
        self._control("POST", "/_reset")

    def now(self):
        """The fake's time.monotonic(), the clock of started_at / client_closed_at."""
        return self._control("GET", "/_now")

    def wait_log(self, predicate, timeout=5.0):
        """Polls the log until an entry matches `predicate`; returns the last matching entry."""
        deadline = time.monotonic() + timeout
        while True:
            matches = [e for e in self.log() if predicate(e)]
            if matches:
                return matches[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no fake_llm log entry matched within {timeout}s; log: {self.log()}")
            time.sleep(0.02)


def make_self_signed_cert(directory, names=("localhost",), ips=("127.0.0.1",)):
    """Writes cert.pem and key.pem (EC P-256, valid for `names` and `ips`) into `directory`;
    returns their paths. Needs python3-cryptography."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "fake-llm")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(str(directory), "cert.pem")
    key_path = os.path.join(str(directory), "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path
