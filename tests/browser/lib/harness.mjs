// The browser tests' harness: a chatd with its SMTP sink and fake LLM upstream, all on
// loopback and all stopped at the end (also when a test fails or the process is killed),
// and Chromium pages that record every console error, page error, CSP violation, dialog and
// request to another origin, so that each test can assert there was none.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { SmtpSink } from './smtp_sink.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..', '..');
const chatdBin = path.resolve(ROOT, process.env.CHATD_BIN || 'build/chatd');
const fakeLlm = path.join(ROOT, 'tests', 'upstream', 'fake_llm.py');
export const SCREENSHOTS = path.resolve(ROOT, process.env.BROWSER_SCREENSHOTS || 'tests/browser/screenshots');

// The browser context of a phone (an iPhone-sized screen, touch), light scheme.
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'light' };

export const OPENAI_KEY = 'sk-fake-openai-key-browser-tests';
export const MODEL = 'gpt-test';
export const OTHER_MODEL = 'gpt-other';
export const PASSWORD = 'correct horse battery staple';
export const PASSWORD2 = 'violet tractor umbrella sings';
export const LOOSE_LIMITS =
  'login=100000/60s,register=100000/60s,verify=100000/60s,refresh=100000/60s,otp=100000/60s,' +
  'message=100000/60s,global=1000000/60s';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `fn` until it returns something other than false/undefined/null without throwing;
// returns that value, or throws the last error once `timeout` ms have passed.
export async function eventually(fn, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      const value = await fn();
      if (value !== false && value !== undefined && value !== null) return value;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      if (last) {
        last.message = `${message} not met within ${timeout} ms: ${last.message}`;
        throw last;
      }
      throw new Error(`${message} not met within ${timeout} ms`);
    }
    await sleep(interval);
  }
}

export function uniqueName(prefix = 'u') {
  return prefix + randomBytes(5).toString('hex');
}

// ---- processes: every child is killed when this process ends, however it ends

const children = new Set();
function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + os.constants.signals[sig]);
  });
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  // The runner kills what a crashed test process left behind, by these ids.
  if (process.env.BROWSER_TEST_PIDS && child.pid) {
    try {
      fs.writeFileSync(path.join(process.env.BROWSER_TEST_PIDS, String(child.pid)), '');
    } catch {
      // best effort
    }
  }
  return child;
}

async function stopChild(child, { signal = 'SIGTERM', grace = 10000 } = {}) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), grace);
  await exited;
  clearTimeout(timer);
  if (process.env.BROWSER_TEST_PIDS && child.pid) {
    fs.rmSync(path.join(process.env.BROWSER_TEST_PIDS, String(child.pid)), { force: true });
  }
}

function tempDir() {
  const base = process.env.BROWSER_TEST_TMP || os.tmpdir();
  return fs.mkdtempSync(path.join(base, 'chatd-browser-'));
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---- the fake LLM upstream (tests/upstream/fake_llm.py)

async function startFakeLlm() {
  const child = track(
    spawn('python3', [fakeLlm, '--host', '127.0.0.1', '--port', '0', '--openai-key', OPENAI_KEY], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fake_llm did not listen within 15 s: ${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^listening (\d+)\n/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake_llm exited with ${code}: ${stderr}`));
    });
  });
  child.stdout.resume();
  return { child, port, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

function providersFile(dir, fake) {
  const doc = {
    default_model: MODEL,
    providers: [
      {
        name: 'fake-openai',
        type: 'openai',
        base_url: fake.url + '/v1',
        api_key: OPENAI_KEY,
        retries: { max_attempts: 1, backoff_ms: 10, max_backoff_ms: 40 },
        timeouts_ms: { connect: 2000, first_byte: 10000, total: 60000 },
        models: [
          { id: MODEL, upstream_id: 'fake-gpt', context_window: 8192 },
          { id: OTHER_MODEL, upstream_id: 'fake-gpt', context_window: 8192 },
        ],
      },
    ],
  };
  const file = path.join(dir, 'providers.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

// ---- chatd

async function startChatd(dir, env) {
  if (!fs.existsSync(chatdBin)) throw new Error(`no chatd binary at ${chatdBin} (set CHATD_BIN)`);
  // The public URL must be the address the browser uses, so that the mailed links work: the
  // port is chosen first. Another process may take it in between, hence the retries.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logPath = path.join(dir, `chatd-${attempt}.log`);
    const log = fs.openSync(logPath, 'w');
    const fullEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CHATD_|AWS_)/i.test(k))),
      CHATD_ADDR: `127.0.0.1:${port}`,
      CHATD_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CHATD_DATA_DIR: path.join(dir, 'data'),
      CHATD_DATABASE_URL: 'sqlite:' + path.join(dir, 'data', 'chatd.db'),
      CHATD_THREADS: '2',
      CHATD_LOG_LEVEL: 'info',
      CHATD_SHUTDOWN_GRACE_MS: '2000',
      CHATD_RATE_LIMITS: LOOSE_LIMITS,
      ...env,
    };
    fs.mkdirSync(fullEnv.CHATD_DATA_DIR, { recursive: true });
    const child = track(spawn(chatdBin, ['serve'], { cwd: dir, env: fullEnv, stdio: ['ignore', log, log] }));
    fs.closeSync(log);
    const readLog = () => fs.readFileSync(logPath, 'utf8');
    let exited = false;
    child.once('exit', () => (exited = true));
    try {
      await eventually(
        () => {
          if (exited) throw new Error(`chatd exited with ${child.exitCode}:\n${readLog()}`);
          return /"event":"server\.listening"/.test(readLog());
        },
        { timeout: 30000, message: 'chatd listening' },
      );
      return { child, port, logPath, readLog, baseURL: `http://127.0.0.1:${port}` };
    } catch (e) {
      await stopChild(child, { signal: 'SIGKILL' });
      if (attempt < 3 && /address|in use/i.test(readLog())) continue;
      throw e;
    }
  }
}

// ---- the whole stack

export class Stack {
  static async start(env = {}) {
    const stack = new Stack();
    stack.dir = tempDir();
    try {
      stack.smtp = await new SmtpSink().start();
      stack.fake = await startFakeLlm();
      stack.chatd = await startChatd(stack.dir, {
        CHATD_SMTP_URL: stack.smtp.url,
        CHATD_PROVIDERS_FILE: providersFile(stack.dir, stack.fake),
        ...env,
      });
    } catch (e) {
      await stack.stop();
      throw e;
    }
    stack.baseURL = stack.chatd.baseURL;
    return stack;
  }

  async stop() {
    await stopChild(this.chatd?.child);
    await stopChild(this.fake?.child, { signal: 'SIGKILL' });
    await this.smtp?.stop();
    if (this.dir && !process.env.BROWSER_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // One JSON request to chatd: {status, headers, body} (body parsed when it is JSON).
  async api(method, urlPath, body, { token, headers = {} } = {}) {
    const h = { Accept: 'application/json', ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (token) h['Authorization'] = `Bearer ${token}`;
    const res = await fetch(this.baseURL + urlPath, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async apiOk(method, urlPath, body, options) {
    const res = await this.api(method, urlPath, body, options);
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  // A new account through the API, confirmed with the link of its e-mail.
  async registerVerified({ password = PASSWORD } = {}) {
    const username = uniqueName();
    const email = `${username}@example.com`;
    await this.apiOk('POST', '/auth/register', { email, username, password });
    const mail = await this.smtp.waitFor(email);
    await this.apiOk('POST', '/auth/email/verify/confirm', { token: SmtpSink.tokenIn(mail) });
    return { email, username, password };
  }

  // Signs in through the API (body mode): {access_token, refresh_token, user, ...}.
  async login(user, extra = {}) {
    return this.apiOk('POST', '/auth/login', { login: user.username, password: user.password, ...extra });
  }

  async messages(token, conversationId) {
    return (await this.apiOk('GET', `/conversations/${conversationId}/messages?limit=100`, undefined, { token })).items;
  }
}

// ---- the browser

export function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
}

// What a page did that a test must not accept unless it says so.
export class PageWatch {
  constructor(origin) {
    this.origin = origin;
    this.problems = [];
    this.counts = new Map();
    this.allowed = [];
    this.requests = []; // every request: {method, url, time}
    this.responses = []; // every response: {method, url, status, requestHeaders}
  }

  // Console errors matching `pattern` are expected in this test (e.g. Chromium's own
  // "Failed to load resource: ... status of 401" for a login the test makes fail on purpose).
  allowConsoleError(pattern) {
    this.allowed.push(pattern);
  }

  // Each distinct problem once, with how often it happened.
  note(problem) {
    const found = this.problems.findIndex((p) => p === problem || p.startsWith(problem + ' (×'));
    if (found < 0) {
      this.problems.push(problem);
      this.counts.set(problem, 1);
    } else {
      const n = this.counts.get(problem) + 1;
      this.counts.set(problem, n);
      this.problems[found] = `${problem} (×${n})`;
    }
  }

  attach(page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      const where = msg.location()?.url ? ` (${msg.location().url})` : '';
      if (this.allowed.some((p) => p.test(text))) return;
      // Chromium's CSP messages run to several sentences: the first one says it all.
      const short = text.startsWith('Applying inline style violates') || text.startsWith('Refused to') ? text.split('. ')[0] : text;
      this.note(`console error on ${page.url()}: ${short}${where}`);
    });
    page.on('pageerror', (err) => this.note(`page error on ${page.url()}: ${err.stack || err.message}`));
    page.on('dialog', (dialog) => {
      this.note(`dialog (${dialog.type()}) on ${page.url()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
    page.on('crash', () => this.note(`page crashed: ${page.url()}`));
    page.on('request', (req) => {
      const url = req.url();
      this.requests.push({ method: req.method(), url, time: Date.now() });
      if (/^(data|blob|about):/.test(url)) return;
      if (new URL(url).origin !== this.origin) this.note(`request to another origin: ${req.method()} ${url}`);
    });
    page.on('requestfailed', (req) => {
      const url = req.url();
      if (!/^(data|blob|about):/.test(url) && new URL(url).origin !== this.origin) {
        this.note(`failed request to another origin: ${url}: ${req.failure()?.errorText}`);
      }
    });
    page.on('response', (res) => {
      const req = res.request();
      this.responses.push({ method: req.method(), url: res.url(), status: res.status(), headers: req.headers(), time: Date.now() });
    });
  }

  assertClean() {
    assert.deepEqual(this.problems, [], 'the page reported problems');
  }
}

// Reports CSP violations as console errors with a marker (Chromium logs most of them too,
// but the event also covers those it reports only to the page).
function reportCspViolations() {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(
      `[csp-violation] ${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`,
    );
  });
}

export async function openPage(browser, stack, contextOptions = {}) {
  const context = await browser.newContext({ baseURL: stack.baseURL, viewport: { width: 1280, height: 800 }, ...contextOptions });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(20000);
  const watch = new PageWatch(new URL(stack.baseURL).origin);
  await context.addInitScript(reportCspViolations);
  const seen = new WeakSet();
  context.on('page', (p) => {
    if (!seen.has(p)) {
      seen.add(p);
      watch.attach(p);
    }
  });
  const page = await context.newPage();
  if (!seen.has(page)) {
    seen.add(page);
    watch.attach(page);
  }
  return { context, page, watch };
}

// Runs `body` with a fresh browser context; asserts at the end that the page reported no
// problem, and closes the context whatever happens (a failure leaves a screenshot).
export async function withPage(browser, stack, contextOptions, body, { name } = {}) {
  const { context, page, watch } = await openPage(browser, stack, contextOptions);
  try {
    await body({ context, page, watch });
    watch.assertClean();
  } catch (e) {
    if (name) await screenshot(page, `failed-${name}`).catch(() => undefined);
    throw e;
  } finally {
    await context.close().catch(() => undefined);
  }
}

export async function screenshot(page, name, options = {}) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  return file;
}

// ---- the UI, by its contract's accessible names

export const field = (page, name) => page.getByLabel(name, { exact: true });
export const button = (scope, name) => scope.getByRole('button', { name, exact: true });
export const conversationNav = (page) => page.getByRole('navigation', { name: 'Conversations', exact: true });
export const assistantMessages = (page) => page.getByRole('article', { name: 'Assistant', exact: true });
export const userMessages = (page) => page.getByRole('article', { name: 'You', exact: true });

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

export async function waitForPath(page, pathname, timeout = 15000) {
  await page.waitForURL((u) => u.pathname === pathname || (pathname instanceof RegExp && pathname.test(u.pathname)), { timeout });
}

export async function signIn(page, login, password) {
  await page.goto('/login');
  await field(page, 'Email or username').fill(login);
  await field(page, 'Password').fill(password);
  await button(page, 'Sign in').click();
  await waitForPath(page, '/');
  await field(page, 'Message').waitFor();
}

// Types a message into the composer and sends it with the Send button; returns the number
// of answers the page will show once this one has come.
export async function sendMessage(page, text) {
  const answers = await assistantMessages(page).count();
  await field(page, 'Message').fill(text);
  await button(page, 'Send').click();
  return answers + 1;
}

// Waits until the page shows `count` answers, the last one finished (not busy, no Stop
// button); returns the last answer's text.
export async function waitForAnswerDone(page, count, timeout = 30000) {
  return eventually(
    async () => {
      if ((await assistantMessages(page).count()) < count) return false;
      if ((await button(page, 'Stop').count()) > 0) return false;
      const last = assistantMessages(page).nth(count - 1);
      if ((await last.locator('[aria-busy="true"]').count()) > 0) return false;
      const text = (await last.innerText()).trim();
      return text || false;
    },
    { timeout, interval: 100, message: `answer #${count} finished` },
  );
}

export function conversationIdOf(page) {
  const m = pathOf(page).match(/^\/chat\/([^/]+)$/);
  assert.ok(m, `not on a conversation page: ${page.url()}`);
  return decodeURIComponent(m[1]);
}

// Relative luminance (WCAG) of a CSS rgb()/rgba() colour.
export function luminance(css) {
  const m = css.match(/rgba?\(([^)]+)\)/);
  assert.ok(m, `not an rgb colour: ${css}`);
  const [r, g, b] = m[1].split(/[ ,/]+/).filter(Boolean).slice(0, 3).map(Number);
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

// The background colour a person sees at a point of the page (the first non-transparent
// background among the element there and its ancestors, else the canvas's).
export async function backgroundAt(page, x, y) {
  return page.evaluate(
    ([px, py]) => {
      let el = document.elementFromPoint(px, py);
      while (el) {
        const bg = getComputedStyle(el).backgroundColor;
        if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
        el = el.parentElement;
      }
      return getComputedStyle(document.documentElement).backgroundColor;
    },
    [x, y],
  );
}

// The elements whose attributes hold a javascript: URL (after the spaces and control
// characters a browser ignores).
export async function javascriptUrls(page) {
  return page.evaluate(() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        // eslint-disable-next-line no-control-regex
        const value = attr.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
        if (value.startsWith('javascript:') || value.startsWith('vbscript:')) found.push(`<${el.tagName.toLowerCase()} ${attr.name}="${attr.value}">`);
      }
    }
    return found;
  });
}

// ---- administrators

// An administrator made with `chatd create-admin` against the stack's database (the account
// is verified and has the role admin): {email, username, password}.
export async function createAdmin(stack, { username = uniqueName('adm'), email = `${username}@example.com`, password = PASSWORD } = {}) {
  const data = path.join(stack.dir, 'data');
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CHATD_|AWS_)/i.test(k))),
    CHATD_DATA_DIR: data,
    CHATD_DATABASE_URL: 'sqlite:' + path.join(data, 'chatd.db'),
    CHATD_LOG_LEVEL: 'warn',
    CHATD_ADMIN_PASSWORD: password,
  };
  const child = track(spawn(chatdBin, ['create-admin', '--email', email, '--username', username], { cwd: stack.dir, env }));
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `chatd create-admin failed: ${output}`);
  return { email, username, password };
}

// The chatd stack and the browser a test file shares: started before its first test, stopped
// after its last (also when a test failed). `use(stack, browser)` hands them to the file.
export function startForFile(use, env) {
  let stack;
  let browser;
  before(async () => {
    stack = await Stack.start(env);
    browser = await launchBrowser();
    use(stack, browser);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });
}
