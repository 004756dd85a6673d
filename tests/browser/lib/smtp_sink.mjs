// A minimal SMTP server on loopback (RFC 5321 without extensions chatd does not need: no
// STARTTLS, no AUTH) that keeps every message it receives, so that tests can open the links
// chatd mails. chatd sends through libcurl, which uses STARTTLS only when it is offered and the
// URL carries no credentials: this server offers nothing.
import net from 'node:net';

export class SmtpSink {
  constructor() {
    this.messages = []; // {from, to: [address], raw: string}
    this.waiters = new Set();
    this.server = net.createServer((socket) => this.session(socket));
    this.sockets = new Set();
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  session(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('latin1'); // bytes one to one; decoded as UTF-8 once the message is whole
    let buffer = '';
    let envelope = { from: null, to: [] };
    let data = null; // the lines of the message while in DATA
    const reply = (line) => socket.write(line + '\r\n');
    reply('220 127.0.0.1 ESMTP test sink');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        if (data !== null) {
          if (line === '.') {
            // raw: the message's bytes, one character each (latin1)
            this.receive({ from: envelope.from, to: envelope.to, raw: data.join('\r\n') + '\r\n' });
            data = null;
            envelope = { from: null, to: [] };
            reply('250 2.0.0 OK: queued');
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line); // dot-unstuffing
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        const arg = line.slice(4).trim();
        if (verb === 'EHLO') {
          reply('250-127.0.0.1 greets you');
          reply('250-8BITMIME');
          reply('250 SIZE 10485760');
        } else if (verb === 'HELO') {
          reply('250 127.0.0.1');
        } else if (verb === 'MAIL') {
          envelope = { from: address(arg), to: [] };
          reply('250 2.1.0 OK');
        } else if (verb === 'RCPT') {
          if (envelope.from === null) {
            reply('503 5.5.1 MAIL first');
          } else {
            envelope.to.push(address(arg));
            reply('250 2.1.5 OK');
          }
        } else if (verb === 'DATA') {
          if (envelope.to.length === 0) {
            reply('503 5.5.1 RCPT first');
          } else {
            data = [];
            reply('354 End data with <CR><LF>.<CR><LF>');
          }
        } else if (verb === 'RSET') {
          envelope = { from: null, to: [] };
          reply('250 2.0.0 OK');
        } else if (verb === 'NOOP') {
          reply('250 2.0.0 OK');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 Bye');
          socket.end();
        } else {
          reply('502 5.5.2 Command not implemented');
        }
      }
    });
  }

  receive(message) {
    this.messages.push(message);
    for (const w of this.waiters) w();
  }

  // The count-th message to `to` (1-based), waiting up to `timeout` ms for it.
  async waitFor(to, { count = 1, timeout = 15000 } = {}) {
    const want = to.toLowerCase();
    const find = () => this.messages.filter((m) => m.to.some((a) => a.toLowerCase() === want))[count - 1];
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = find();
        if (m) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no message #${count} to ${to} within ${timeout} ms; got mail for ${this.messages.map((m) => m.to.join(',')).join(' ') || 'nobody'}`));
      }, timeout);
      this.waiters.add(check);
    });
  }

  // The first link with a token (`token=`, or an invitation's `invite=`) in the message (its
  // text decoded from quoted-printable).
  static linkIn(message) {
    const text = decodeQuotedPrintable(message.raw);
    const m = text.match(/https?:\/\/[^\s"'<>]+[?&](?:token|invite)=[A-Za-z0-9_%.~-]+/);
    if (!m) throw new Error(`no link with a token in the message:\n${text}`);
    return m[0];
  }

  static tokenIn(message) {
    return decodeURIComponent(new URL(SmtpSink.linkIn(message)).searchParams.get('token'));
  }
}

function address(arg) {
  const m = arg.match(/<([^>]*)>/);
  return m ? m[1] : arg.replace(/^(FROM|TO):/i, '').trim();
}

// Quoted-printable (RFC 2045) of a byte string (one character per byte): soft line breaks
// and =XX escapes; the bytes are then read as UTF-8.
export function decodeQuotedPrintable(bytes) {
  const joined = bytes.replace(/=\r?\n/g, '');
  const out = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      out.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(joined.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(out).toString('utf8');
}
