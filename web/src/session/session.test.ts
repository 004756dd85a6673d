// @vitest-environment node
import { describe, expect, it, vi } from 'vitest';
import type { User } from '../api/types';
import { csrfKey, revalidateEvery, revalidateWhileVisible, SessionManager, type PageEvents, type SessionDeps } from './session';

const user: User = {
  id: 'u1',
  email: 'ann@example.com',
  username: 'ann',
  email_verified: true,
  roles: ['user'],
  totp_enabled: false,
  created_at: '2025-01-01T00:00:00Z',
  last_login_at: null,
};

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

// A chatd as API.md's "Web sessions" describes it, and a browser around it: one cookie
// jar and one localStorage shared by the tabs. Refresh tokens rotate with reuse
// detection: a rotated cookie presented again revokes the session.
class FakeBrowser {
  cookie: string | null = null; // chatd_refresh, which scripts cannot read
  private generation = 0;
  private revoked = false;
  csrf = '';
  accessTokens = new Set<string>();
  calls: { path: string; init: RequestInit }[] = [];
  reuseDetected = false;
  offline = false;
  store = new Map<string, string>();
  private storageWatchers: { tab: number; key: string; fn: (v: string | null) => void }[] = [];
  private channels: { tab: number; listeners: Set<(e: MessageEvent) => void> }[] = [];
  private lockQueue: Promise<unknown> = Promise.resolve();
  timers: { tab: number; fn: () => void; ms: number; cancelled: boolean }[] = [];
  now = 1_000_000;

  signInOnServer(): void {
    this.generation += 1;
    this.cookie = `rt-${this.generation}`;
    this.csrf = `csrf-${this.generation}`;
    this.revoked = false;
  }

  private grant(): Response {
    const access = `at-${this.generation}-${this.accessTokens.size}`;
    this.accessTokens.add(access);
    return json(200, { access_token: access, token_type: 'Bearer', expires_in: 900, csrf_token: this.csrf, session_id: 's1', user });
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    this.calls.push({ path, init });
    if (this.offline) throw new TypeError('Failed to fetch');
    const headers = new Headers(init.headers);
    if (path === '/auth/login') {
      const body = JSON.parse(String(init.body)) as { password: string; otp?: string; session?: string };
      if (body.password !== 'right password') return json(401, { code: 'invalid_credentials' });
      this.signInOnServer();
      return this.grant();
    }
    if (path === '/auth/refresh') {
      const presented = this.cookie; // the browser attaches the cookie when it sends
      await tick(); // the server's work: another request may come in meanwhile
      if (this.revoked || !presented) return json(401, { code: 'unauthorized' });
      if (presented !== `rt-${this.generation}`) {
        this.reuseDetected = true;
        this.revoked = true;
        this.cookie = null;
        return json(401, { code: 'token_reused' });
      }
      if (headers.get('X-CSRF-Token') !== this.csrf) return json(403, { code: 'forbidden' });
      this.generation += 1;
      this.cookie = `rt-${this.generation}`;
      this.csrf = `csrf-${this.generation}`;
      return this.grant();
    }
    if (path === '/auth/logout') {
      this.revoked = true;
      this.cookie = null;
      return new Response(null, { status: 204 });
    }
    // Any other API call: a current access token or 401.
    const auth = headers.get('Authorization') ?? '';
    const token = auth.replace(/^Bearer /, '');
    if (this.revoked || !this.accessTokens.has(token)) return json(401, { code: 'unauthorized' });
    return json(200, { ok: true, token });
  }

  refreshCalls(): number {
    return this.calls.filter((c) => c.path === '/auth/refresh').length;
  }

  // A tab of this browser: its own SessionManager with the shared storage, channel and locks.
  tab(options: { locks?: boolean; channel?: boolean } = {}): SessionManager {
    const tab = this.channels.length;
    const me = { tab, listeners: new Set<(e: MessageEvent) => void>() };
    this.channels.push(me);
    const notify = (key: string, value: string | null) => {
      for (const w of this.storageWatchers) if (w.tab !== tab && w.key === key) queueMicrotask(() => w.fn(value));
    };
    const deps: SessionDeps = {
      fetch: (p, i) => this.fetch(p, i),
      storage: {
        getItem: (k) => this.store.get(k) ?? null,
        setItem: (k, v) => {
          this.store.set(k, v);
          notify(k, v);
        },
        removeItem: (k) => {
          this.store.delete(k);
          notify(k, null);
        },
      },
      channel:
        options.channel === false
          ? null
          : {
              postMessage: (message) => {
                for (const other of this.channels)
                  if (other !== me) for (const l of other.listeners) queueMicrotask(() => l({ data: structuredClone(message) } as MessageEvent));
              },
              addEventListener: (_type, l) => me.listeners.add(l),
              removeEventListener: (_type, l) => me.listeners.delete(l),
            },
      locks:
        options.locks === false
          ? null
          : {
              request: <T,>(_name: string, callback: () => Promise<T>): Promise<T> => {
                const run = this.lockQueue.then(callback, callback);
                this.lockQueue = run.catch(() => undefined);
                return run;
              },
            },
      now: () => this.now,
      setTimeout: (fn, ms) => {
        const timer = { tab, fn, ms, cancelled: false };
        this.timers.push(timer);
        return timer;
      },
      clearTimeout: (handle) => {
        (handle as { cancelled: boolean }).cancelled = true;
      },
      watchStorage: (key, fn) => {
        const watcher = { tab, key, fn };
        this.storageWatchers.push(watcher);
        return () => {
          this.storageWatchers = this.storageWatchers.filter((w) => w !== watcher);
        };
      },
    };
    return new SessionManager(deps);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('SessionManager', () => {
  it('refreshes silently on load with the cookie and the stored CSRF token', async () => {
    const browser = new FakeBrowser();
    browser.signInOnServer(); // a session from before the reload
    browser.store.set(csrfKey, browser.csrf);
    const session = browser.tab();
    expect(session.getState().status).toBe('loading');
    await session.start();

    expect(session.getState()).toMatchObject({ status: 'signed-in', user: { username: 'ann' } });
    expect(browser.refreshCalls()).toBe(1);
    const call = browser.calls[0]!;
    expect(call.init.method).toBe('POST');
    expect(call.init.credentials).toBe('same-origin');
    expect(new Headers(call.init.headers).get('X-CSRF-Token')).toBe('csrf-1');
    expect(call.init.body).toBe('{}'); // no refresh token in the body: it is the cookie
    expect(browser.store.get(csrfKey)).toBe('csrf-2'); // the rotated CSRF token is kept
  });

  it('stays signed out without a stored CSRF token, asking nothing', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'none' });
    expect(browser.calls).toEqual([]);
  });

  it('forgets a session the server refuses on load', async () => {
    const browser = new FakeBrowser();
    browser.store.set(csrfKey, 'csrf-old'); // the cookie is gone
    const session = browser.tab();
    await session.start();
    expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'none' });
    expect(browser.store.has(csrfKey)).toBe(false);
  });

  it('keeps the CSRF token when the server cannot be reached on load, and says so', async () => {
    const browser = new FakeBrowser();
    browser.signInOnServer();
    browser.store.set(csrfKey, browser.csrf);
    browser.offline = true;
    const session = browser.tab();
    await session.start();
    expect(session.getState().status).toBe('signed-out');
    expect(session.getState().startError?.kind).toBe('network');
    expect(browser.store.get(csrfKey)).toBe('csrf-1');
    browser.offline = false;
    await session.resume();
    expect(session.getState().status).toBe('signed-in');
  });

  it('signs in with session "cookie" and keeps the access token out of storage', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    const body = JSON.parse(String(browser.calls[0]!.init.body)) as Record<string, unknown>;
    expect(body).toEqual({ login: 'ann', password: 'right password', session: 'cookie' });
    expect(session.getState().status).toBe('signed-in');
    expect([...browser.store.keys()]).toEqual([csrfKey]);
    for (const value of browser.store.values()) expect(value).not.toMatch(/^at-/);
  });

  it('sends the one-time code with the password when there is one', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password', '123456');
    expect(JSON.parse(String(browser.calls[0]!.init.body))).toMatchObject({ otp: '123456', session: 'cookie' });
  });

  it('refreshes once after a 401 and retries the request with the new token', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.accessTokens.clear(); // the server no longer takes the token (e.g. restarted keys)
    const res = await session.authFetch('/conversations');
    expect(res.status).toBe(200);
    expect(browser.refreshCalls()).toBe(1);
    const api = browser.calls.filter((c) => c.path === '/conversations');
    expect(api).toHaveLength(2);
    const first = new Headers(api[0]!.init.headers).get('Authorization');
    const second = new Headers(api[1]!.init.headers).get('Authorization');
    expect(first).not.toBe(second);
  });

  it('does not refresh twice when the retried request is refused too, and ends the session', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    const realFetch = browser.fetch.bind(browser);
    browser.fetch = async (path, init) => (path === '/conversations' ? json(401, { code: 'unauthorized' }) : realFetch(path, init));
    const res = await session.authFetch('/conversations');
    expect(res.status).toBe(401);
    expect(browser.refreshCalls()).toBe(1);
    expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'ended' });
  });

  it('makes one refresh for many requests refused at once in a tab', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.accessTokens.clear();
    const answers = await Promise.all([1, 2, 3, 4].map(() => session.authFetch('/conversations')));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(browser.refreshCalls()).toBe(1);
    expect(browser.reuseDetected).toBe(false);
  });

  it('lets only one tab refresh at a time, and hands the new token to the others', async () => {
    const browser = new FakeBrowser();
    const a = browser.tab();
    const b = browser.tab();
    await a.start();
    await b.start();
    await a.login('ann', 'right password');
    await tick();
    expect(b.getState().status).toBe('signed-in'); // signed in through the channel
    const [ra, rb] = await Promise.all([a.refresh(), b.refresh()]);
    expect([ra, rb]).toEqual(['refreshed', 'refreshed']);
    expect(browser.reuseDetected).toBe(false);
    expect(browser.refreshCalls()).toBe(1);
    expect(a.getState().status).toBe('signed-in');
    expect(b.getState().status).toBe('signed-in');
  });

  it('would trip reuse detection without the lock (the fake server is strict)', async () => {
    const browser = new FakeBrowser();
    const a = browser.tab({ locks: false });
    const b = browser.tab({ locks: false });
    await a.start();
    await b.start();
    await a.login('ann', 'right password');
    await tick();
    await Promise.all([a.refresh(), b.refresh()]);
    expect(browser.reuseDetected).toBe(true);
  });

  it('reads the CSRF token under the lock: a tab whose copy is stale uses the current one', async () => {
    const browser = new FakeBrowser();
    const a = browser.tab({ channel: false });
    const b = browser.tab({ channel: false });
    await a.start();
    await b.start();
    await a.login('ann', 'right password');
    await b.resume(); // b picks the session up (refresh #1)
    await a.refresh(); // a rotates again (refresh #2): b never hears of it
    expect(await b.refresh()).toBe('refreshed'); // refresh #3, with the rotated cookie and CSRF token
    expect(browser.reuseDetected).toBe(false);
    expect(b.getState().status).toBe('signed-in');
  });

  it('signs out every tab when one signs out', async () => {
    const browser = new FakeBrowser();
    const a = browser.tab();
    const b = browser.tab();
    await a.start();
    await b.start();
    await a.login('ann', 'right password');
    await tick();
    expect(b.getState().status).toBe('signed-in');
    await a.logout();
    await tick();
    const logout = browser.calls.find((c) => c.path === '/auth/logout')!;
    expect(new Headers(logout.init.headers).get('X-CSRF-Token')).toBe('csrf-1');
    expect(logout.init.credentials).toBe('same-origin');
    expect(a.getState()).toMatchObject({ status: 'signed-out', reason: 'logout' });
    expect(b.getState()).toMatchObject({ status: 'signed-out', reason: 'logout' });
    expect(browser.store.has(csrfKey)).toBe(false);
  });

  it('signs out the other tabs through the storage event when there is no BroadcastChannel', async () => {
    const browser = new FakeBrowser();
    const a = browser.tab({ channel: false });
    const b = browser.tab({ channel: false });
    await a.start();
    await b.start();
    await a.login('ann', 'right password');
    await b.resume();
    expect(b.getState().status).toBe('signed-in');
    await a.logout();
    await tick();
    expect(b.getState()).toMatchObject({ status: 'signed-out', reason: 'logout' });
  });

  it('signs out locally even when the server cannot be reached', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.offline = true;
    await session.logout();
    expect(session.getState().status).toBe('signed-out');
  });

  it('refreshes a minute before the access token expires', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    const live = browser.timers.filter((t) => !t.cancelled);
    expect(live).toHaveLength(1);
    expect(live[0]!.ms).toBe(900_000 - 60_000);
    browser.now += 840_000;
    live[0]!.fn();
    await tick();
    await tick();
    expect(browser.refreshCalls()).toBe(1);
    expect(session.getState().status).toBe('signed-in');
  });

  it('refreshes a short-lived token at half its life, and not before every request', async () => {
    const browser = new FakeBrowser();
    const realFetch = browser.fetch.bind(browser);
    browser.fetch = async (path, init) => {
      const res = await realFetch(path, init);
      if (path !== '/auth/login' && path !== '/auth/refresh') return res;
      const body = (await res.json()) as Record<string, unknown>;
      return json(res.status, { ...body, expires_in: 4 });
    };
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    expect(browser.timers.filter((t) => !t.cancelled).map((t) => t.ms)).toEqual([2000]);
    browser.now += 1500;
    await session.authFetch('/conversations');
    await session.authFetch('/conversations');
    expect(browser.refreshCalls()).toBe(0);
    browser.now += 2000; // 0.5 s left: less than a quarter of its life
    await session.authFetch('/conversations');
    expect(browser.refreshCalls()).toBe(1);
  });

  it('refreshes before a request when the token is about to expire', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.now += 895_000; // 5 s left: the timer slept through (a suspended laptop)
    const res = await session.authFetch('/conversations');
    expect(res.status).toBe(200);
    expect(browser.refreshCalls()).toBe(1);
    expect(browser.calls.filter((c) => c.path === '/conversations')).toHaveLength(1);
  });

  it('reports a session that ended as "ended", so the sign-in page can say so', async () => {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.cookie = null; // revoked elsewhere (sign out everywhere, an admin)
    browser.accessTokens.clear();
    const res = await session.authFetch('/conversations');
    expect(res.status).toBe(401);
    expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'ended' });
  });
});

// A page's focus, visibility and interval, driven by the test.
class FakePage implements PageEvents {
  visible = true;
  private focus = new Set<() => void>();
  private visibility = new Set<() => void>();
  intervals: { fn: () => void; ms: number; cleared: boolean }[] = [];

  isVisible = () => this.visible;
  onFocus = (listener: () => void) => {
    this.focus.add(listener);
    return () => this.focus.delete(listener);
  };
  onVisibilityChange = (listener: () => void) => {
    this.visibility.add(listener);
    return () => this.visibility.delete(listener);
  };
  setInterval = (fn: () => void, ms: number) => {
    const handle = { fn, ms, cleared: false };
    this.intervals.push(handle);
    return handle;
  };
  clearInterval = (handle: unknown) => {
    (handle as { cleared: boolean }).cleared = true;
  };

  focusWindow(): void {
    for (const l of this.focus) l();
  }
  setVisible(visible: boolean): void {
    this.visible = visible;
    for (const l of this.visibility) l();
  }
  tick(): void {
    for (const i of this.intervals) if (!i.cleared) i.fn();
  }
}

describe('revalidation (a session ended elsewhere)', () => {
  async function signedIn() {
    const browser = new FakeBrowser();
    const session = browser.tab();
    await session.start();
    await session.login('ann', 'right password');
    browser.calls = [];
    return { browser, session };
  }

  function revokeOnServer(browser: FakeBrowser): void {
    browser.cookie = null; // an administrator disabled the account: every session revoked
    browser.accessTokens.clear();
  }

  const meCalls = (browser: FakeBrowser) => browser.calls.filter((c) => c.path === '/auth/me').length;

  it('asks /auth/me with the access token and stays signed in while the session stands', async () => {
    const { browser, session } = await signedIn();
    await session.revalidate();
    expect(meCalls(browser)).toBe(1);
    const call = browser.calls.find((c) => c.path === '/auth/me')!;
    expect(new Headers(call.init.headers).get('Authorization')).toMatch(/^Bearer at-/);
    expect(browser.refreshCalls()).toBe(0);
    expect(session.getState().status).toBe('signed-in');
  });

  it('ends the session when chatd refuses it and the refresh is refused too', async () => {
    const { browser, session } = await signedIn();
    revokeOnServer(browser);
    await session.revalidate();
    expect(meCalls(browser)).toBe(1);
    expect(browser.refreshCalls()).toBe(1);
    expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'ended' });
    expect(browser.store.has(csrfKey)).toBe(false);
  });

  it('keeps a session whose access token expired but whose refresh works', async () => {
    const { browser, session } = await signedIn();
    browser.accessTokens.clear(); // e.g. the signing key was rotated and the old one dropped
    await session.revalidate();
    expect(browser.refreshCalls()).toBe(1);
    expect(meCalls(browser)).toBe(2); // refused, refreshed, asked again
    expect(session.getState().status).toBe('signed-in');
  });

  it('changes nothing when chatd cannot be reached or fails', async () => {
    const { browser, session } = await signedIn();
    browser.offline = true;
    await session.revalidate();
    expect(session.getState().status).toBe('signed-in');
    browser.offline = false;
    const realFetch = browser.fetch.bind(browser);
    browser.fetch = async (path, init) => (path === '/auth/me' ? json(503, { code: 'unavailable' }) : realFetch(path, init));
    await session.revalidate();
    expect(session.getState().status).toBe('signed-in');
  });

  it('takes the user as chatd has it now (roles changed by an administrator)', async () => {
    const { browser, session } = await signedIn();
    const realFetch = browser.fetch.bind(browser);
    browser.fetch = async (path, init) => {
      const res = await realFetch(path, init);
      return path === '/auth/me' && res.ok ? json(200, { user: { ...user, roles: ['admin', 'user'] } }) : res;
    };
    let changes = 0;
    session.subscribe(() => (changes += 1));
    await session.revalidate();
    expect(session.getState().user?.roles).toEqual(['admin', 'user']);
    expect(changes).toBe(1);
    await session.revalidate(); // the same user again: no new state
    expect(changes).toBe(1);
  });

  it('shares one request among checks made at once, and asks nothing when signed out', async () => {
    const { browser, session } = await signedIn();
    await Promise.all([session.revalidate(), session.revalidate(), session.revalidate()]);
    expect(meCalls(browser)).toBe(1);
    await session.logout();
    browser.calls = [];
    await session.revalidate();
    expect(browser.calls).toEqual([]);
  });

  it('checks on focus, when the page comes into view, and every minute while it is in view', () => {
    const page = new FakePage();
    let checks = 0;
    const stop = revalidateWhileVisible({ revalidate: async () => void (checks += 1) }, page);
    expect(page.intervals.map((i) => i.ms)).toEqual([revalidateEvery]);
    expect(revalidateEvery).toBe(60_000);
    page.focusWindow();
    expect(checks).toBe(1);
    page.setVisible(false); // hidden: no check, and the minute passes without one
    page.tick();
    expect(checks).toBe(1);
    page.setVisible(true);
    expect(checks).toBe(2);
    page.tick();
    expect(checks).toBe(3);
    stop();
    page.focusWindow();
    page.setVisible(true);
    expect(checks).toBe(3);
    expect(page.intervals[0]!.cleared).toBe(true);
  });

  it('brings a tab whose session was ended elsewhere to signed-out on focus, without a request of its own', async () => {
    const { browser, session } = await signedIn();
    const page = new FakePage();
    revalidateWhileVisible(session, page);
    revokeOnServer(browser);
    page.focusWindow();
    await vi.waitFor(() => expect(session.getState()).toMatchObject({ status: 'signed-out', reason: 'ended' }));
  });
});
