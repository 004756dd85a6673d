"""Runs the shipped nginx configuration (deploy/nginx/chatd.conf) on loopback, for the tests.

render_nginx() copies the real file and changes only the lines that carry a `# deploy:`
marker: the listen addresses (loopback ports), the upstream instances, the certificate and
its key, and drops the plain-HTTP server when no port is given for it. What a prefix of its
own needs (pid file, logs, temporary directories) goes into a small main file that includes
the rendered copy, as a distribution's nginx.conf includes it; everything else is the
shipped file as it is.

make_self_signed() makes a certificate for localhost and 127.0.0.1 (with the `cryptography`
package); it is its own CA, so a client can verify against it.

check_nginx() (`nginx -t`) and start_nginx() run nginx on such a prefix as an unprivileged
user: the current one when it is not root, else `nobody`, to whom the prefix is then handed
(make_workdir() makes one that nobody can reach; keep the certificate and key inside it).
"""

import datetime
import ipaddress
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NGINX_CONF = os.path.join(ROOT, "deploy", "nginx", "chatd.conf")

_MARKER = re.compile(r"#\s*deploy:([a-z-]+)\s*$")


def nginx_binary():
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_self_signed(workdir, names=("localhost",), days=2):
    """Writes cert.pem and key.pem (ECDSA P-256) for `names` and 127.0.0.1 into workdir;
    returns (cert_path, key_path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    os.makedirs(workdir, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(workdir, "cert.pem")
    key_path = os.path.join(workdir, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _replace_listen(line, address):
    """`listen 443 ssl http2 default_server;  # deploy:listen` -> the same with `address`."""
    m = re.match(r"(\s*listen\s+)(\S+)(.*?;)", line)
    if not m:
        raise ValueError(f"a deploy:listen line without a listen directive: {line!r}")
    return f"{m.group(1)}{address}{m.group(3)}\n"


def _drop_block(lines, start):
    """Removes the block that opens on lines[start], up to its closing brace."""
    depth = 0
    opened = False
    for end in range(start, len(lines)):
        code = lines[end].split("#", 1)[0]
        for ch in code:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
        if opened and depth == 0:
            return lines[:start] + lines[end + 1:]
    raise ValueError("unbalanced braces in the nginx configuration")


def render_site(text, listen_port, upstreams, cert, key, http_port=None):
    """The shipped configuration's text with its marked lines replaced (see the module)."""
    lines = text.splitlines(keepends=True)
    if http_port is None:
        starts = [i for i, l in enumerate(lines) if (m := _MARKER.search(l)) and m.group(1) == "http-server"]
        for i in reversed(starts):
            lines = _drop_block(lines, i)
    out = []
    seen = set()
    for line in lines:
        m = _MARKER.search(line)
        if not m:
            out.append(line)
            continue
        kind = m.group(1)
        first = kind not in seen
        seen.add(kind)
        if kind == "http-server":
            out.append(line)
        elif kind == "listen":
            # The first listen line becomes the loopback port; the others (IPv6) go.
            if first:
                out.append(_replace_listen(line, f"127.0.0.1:{listen_port}"))
        elif kind == "listen-http":
            if first:
                out.append(_replace_listen(line, f"127.0.0.1:{http_port}"))
        elif kind == "upstream":
            # One line per instance given, with the shipped line's parameters.
            if first:
                m2 = re.match(r"(\s*server\s+)(\S+)(.*?;)", line)
                if not m2:
                    raise ValueError(f"a deploy:upstream line without a server directive: {line!r}")
                for upstream in upstreams:
                    out.append(f"{m2.group(1)}{upstream}{m2.group(3)}\n")
        elif kind == "cert":
            out.append(re.sub(r"(ssl_certificate\s+)\S+;", lambda mm: f"{mm.group(1)}{cert};", line.split("#")[0]).rstrip() + "\n")
        elif kind == "key":
            out.append(re.sub(r"(ssl_certificate_key\s+)\S+;", lambda mm: f"{mm.group(1)}{key};", line.split("#")[0]).rstrip() + "\n")
        else:
            raise ValueError(f"unknown deploy marker: {kind}")
    for needed in ("listen", "upstream", "cert", "key"):
        if needed not in seen:
            raise ValueError(f"the nginx configuration has no `# deploy:{needed}` line")
    if http_port is not None and "listen-http" not in seen:
        raise ValueError("the nginx configuration has no `# deploy:listen-http` line")
    return "".join(out)


def render_nginx(workdir, listen_port, upstreams, cert, key, http_port=None):
    """Writes workdir/chatd.conf (the shipped file, marked lines replaced) and workdir/nginx.conf
    (the prefix's main file including it); returns the path of nginx.conf.

    upstreams: "host:port" strings of the chatd instances (or of a stand-in)."""
    workdir = os.path.abspath(workdir)
    os.makedirs(os.path.join(workdir, "tmp"), exist_ok=True)
    site = render_site(open(NGINX_CONF).read(), listen_port, upstreams, cert, key, http_port)
    site_path = os.path.join(workdir, "chatd.conf")
    with open(site_path, "w") as f:
        f.write(site)
    tmp = os.path.join(workdir, "tmp")
    main = f"""# The prefix's own settings; the site is the shipped deploy/nginx/chatd.conf.
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;

events {{
    worker_connections 512;
}}

http {{
    default_type application/octet-stream;
    access_log {workdir}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    include {site_path};
}}
"""
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(main)
    return conf


def _unprivileged_user():
    """(uid, gid) to run nginx as: the current ones, or nobody's when root."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def make_workdir(prefix="chatd-nginx-"):
    """A fresh directory for an nginx prefix (remove it with shutil.rmtree). Made in the
    system's temporary directory, which every user can traverse, so that nginx can reach it
    when it runs as nobody; pytest's tmp_path is not (its parents are private to root)."""
    return tempfile.mkdtemp(prefix=prefix)


def hand_over(workdir):
    """When root, gives workdir and everything in it (certificate and key included: keep
    them inside) to the user nginx will run as. Returns that (uid, gid), or None."""
    ids = _unprivileged_user()
    if ids is None:
        return None
    uid, gid = ids
    parent = os.path.dirname(os.path.abspath(workdir))
    while True:
        if not os.stat(parent).st_mode & 0o001:
            raise PermissionError(f"{parent} is not traversable by others: nginx, run as nobody, could not "
                                  "reach its prefix (use make_workdir())")
        if parent == os.path.dirname(parent):
            break
        parent = os.path.dirname(parent)
    for dirpath, dirnames, filenames in os.walk(workdir):
        os.chown(dirpath, uid, gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), uid, gid)
    return ids


def _demote(ids):
    if ids is None:
        return None

    def run():
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])
    return run


def nginx_argv(conf, *extra):
    nginx = nginx_binary()
    if nginx is None:
        raise FileNotFoundError("nginx is missing: scripts/install-deps installs the Debian package nginx-light")
    workdir = os.path.dirname(conf)
    # -e: the error log before the configuration is read (the default one needs root).
    return [nginx, "-e", os.path.join(workdir, "startup.log"), "-p", workdir, "-c", conf, *extra]


def check_nginx(conf, timeout=30):
    """`nginx -t` on the rendered configuration, unprivileged; returns the CompletedProcess."""
    ids = hand_over(os.path.dirname(conf))
    return subprocess.run(nginx_argv(conf, "-t"), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_demote(ids))


def start_nginx(conf, ports, timeout=10):
    """Starts nginx in the foreground (daemon off) unprivileged and waits until every port
    of `ports` accepts connections; returns the Popen. Stop it with stop_nginx()."""
    workdir = os.path.dirname(conf)
    ids = hand_over(workdir)
    log = open(os.path.join(workdir, "nginx.out"), "wb")
    proc = subprocess.Popen(nginx_argv(conf), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, preexec_fn=_demote(ids))
    log.close()
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited with {proc.returncode}:\n{nginx_log(workdir)}")
        try:
            with socket.create_connection(("127.0.0.1", pending[0]), timeout=0.2):
                pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                stop_nginx(proc)
                raise AssertionError(f"nginx did not listen on {pending}:\n{nginx_log(workdir)}")
            time.sleep(0.02)
    return proc


def stop_nginx(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: fast shutdown
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def nginx_log(workdir):
    out = []
    for name in ("nginx.out", "startup.log", "error.log"):
        path = os.path.join(workdir, name)
        if os.path.exists(path):
            out.append(f"--- {name}\n" + open(path, errors="replace").read()[-4000:])
    return "\n".join(out)
