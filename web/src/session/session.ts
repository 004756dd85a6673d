// The browser session (API.md, "Web sessions"), as README.md's "Where each token lives"
// describes it:
// - the access token lives in this object's memory only, never in storage;
// - the refresh token is the HttpOnly cookie `chatd_refresh` (Path=/auth), which no script
//   can read; the browser sends it to /auth/refresh and /auth/logout;
// - the CSRF token that must come with the cookie is in localStorage, so that a reload can
//   refresh silently. It is no credential on its own: the cookie is HttpOnly and
//   SameSite=Strict, and the token only proves the request came from this origin's page.
// Tabs coordinate: one refresh at a time over all tabs (Web Locks), a refreshed or new
// access token is handed to the others (BroadcastChannel), and signing out anywhere signs
// out everywhere (BroadcastChannel, and the storage event of the CSRF token's removal).
import { ApiError, apiErrorFrom, toApiError } from '../api/errors';
import type { CookieSessionGrant, User } from '../api/types';
import type { KeyValueStore } from '../lib/storage';

export const csrfKey = 'chatd.csrf';
const lockName = 'chatd-refresh';
const channelName = 'chatd-session';
const refreshMargin = 60_000; // refresh this long before the access token expires
const minimumValidity = 10_000; // a token that expires sooner is refreshed before use (at
// most a quarter of its lifetime: short-lived tokens are not refreshed before every request)
const retryDelay = 15_000; // after a refresh that failed for want of a network or server

export type SessionStatus = 'loading' | 'signed-in' | 'signed-out';
// Why the session is signed out: never signed in, the user signed out, or it ended on its
// own (expired, revoked, refresh token reused) and the user should hear about it.
export type SignedOutReason = 'none' | 'logout' | 'ended';

export interface SessionState {
  status: SessionStatus;
  user: User | null;
  reason: SignedOutReason;
  // Set when the session could not be checked at start (network down): it may still be alive.
  startError: ApiError | null;
}

interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close?(): void;
}

interface LocksLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface SessionDeps {
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
  storage: KeyValueStore | null;
  channel: ChannelLike | null;
  locks: LocksLike | null;
  now: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  // Calls back with the new value whenever another tab changes localStorage[key].
  watchStorage?: (key: string, onChange: (value: string | null) => void) => () => void;
}

type ChannelMessage =
  | { type: 'token'; accessToken: string; expiresAt: number; user: User }
  | { type: 'signed-out' };

interface AccessToken {
  value: string;
  expiresAt: number; // ms, this tab's clock
  lifetime: number; // ms, from when this tab got it
}

type RefreshOutcome = 'refreshed' | 'ended' | 'failed';

export class SessionManager {
  private deps: SessionDeps;
  private token: AccessToken | null = null;
  private state: SessionState = { status: 'loading', user: null, reason: 'none', startError: null };
  private listeners = new Set<() => void>();
  private inflight: Promise<RefreshOutcome> | null = null;
  private timer: unknown = null;
  private generation = 0; // counts the access tokens this tab has had
  private unwatch: (() => void) | null = null;
  private readonly onChannel = (event: MessageEvent) => this.receive(event.data as ChannelMessage);

  constructor(deps: SessionDeps) {
    this.deps = deps;
  }

  // For React's useSyncExternalStore.
  getState = (): SessionState => this.state;
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  // Starts listening to the other tabs and, when a session may exist (a CSRF token is
  // stored), refreshes it silently.
  async start(): Promise<void> {
    this.deps.channel?.addEventListener('message', this.onChannel);
    this.unwatch =
      this.deps.watchStorage?.(csrfKey, (value) => {
        if (value === null && this.state.status === 'signed-in') this.endLocally('logout');
      }) ?? null;
    await this.resume();
  }

  stop(): void {
    this.deps.channel?.removeEventListener('message', this.onChannel);
    this.unwatch?.();
    this.unwatch = null;
    this.cancelTimer();
  }

  // Tries the stored session again (at start, or after "Try again" when offline).
  async resume(): Promise<void> {
    if (!this.csrf()) {
      this.setState({ status: 'signed-out', user: null, reason: 'none', startError: null });
      return;
    }
    if (this.state.status !== 'signed-in') this.setState({ ...this.state, status: 'loading', startError: null });
    const outcome = await this.refresh();
    if (outcome === 'failed' && this.state.status !== 'signed-in') {
      this.setState({
        status: 'signed-out',
        user: null,
        reason: 'none',
        startError: this.lastError ?? new ApiError({ kind: 'network', code: 'network' }),
      });
    }
  }

  private lastError: ApiError | null = null;

  // POST /auth/login in cookie mode. Throws ApiError (otp_required among them).
  async login(login: string, password: string, otp?: string): Promise<User> {
    const body: Record<string, string> = { login, password, session: 'cookie' };
    if (otp) body['otp'] = otp;
    let res: Response;
    try {
      res = await this.deps.fetch('/auth/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw toApiError(e);
    }
    if (!res.ok) throw await apiErrorFrom(res);
    const grant = (await res.json()) as CookieSessionGrant;
    this.adopt(grant);
    return grant.user;
  }

  // Ends this session on the server and in every tab. Never fails: a server that cannot
  // be reached still leaves this browser signed out.
  async logout(): Promise<void> {
    const headers: Record<string, string> = {};
    const csrf = this.csrf();
    if (csrf) headers['X-CSRF-Token'] = csrf;
    if (this.token && this.token.expiresAt > this.deps.now()) headers['Authorization'] = `Bearer ${this.token.value}`;
    try {
      await this.deps.fetch('/auth/logout', { method: 'POST', credentials: 'same-origin', headers });
    } catch {
      // Signed out here all the same; the server's session expires on its own.
    }
    this.endEverywhere('logout');
  }

  // POST /auth/logout-all: every session of the user ends, this one included.
  async logoutEverywhere(): Promise<void> {
    const res = await this.authFetch('/auth/logout-all', { method: 'POST' });
    if (!res.ok && res.status !== 401) throw await apiErrorFrom(res);
    this.endEverywhere('logout');
  }

  // The session's user after a change the server reported (a verified e-mail...).
  setUser(user: User): void {
    if (this.state.status === 'signed-in') this.setState({ ...this.state, user });
  }

  // fetch with the access token: a token that is about to expire is refreshed first; a 401
  // answer gets one refresh and one retry. When the session is over, the 401 response is
  // returned and the state turns signed-out (reason "ended").
  async authFetch(path: string, init: RequestInit = {}): Promise<Response> {
    let token = await this.validToken();
    if (!token) return unauthorizedResponse();
    const first = await this.deps.fetch(path, withBearer(init, token));
    if (first.status !== 401 || !(await refusesToken(first))) return first;
    // Another caller may have refreshed while this request was out.
    if (this.token && this.token.value !== token) {
      token = this.token.value;
    } else {
      const outcome = await this.refresh();
      if (outcome !== 'refreshed' || !this.token) return first;
      token = this.token.value;
    }
    const second = await this.deps.fetch(path, withBearer(init, token));
    // A fresh token refused: the session was revoked between the refresh and the request.
    if (second.status === 401) this.endEverywhere('ended');
    return second;
  }

  // The current access token, refreshed first when it expires within minimumValidity.
  private async validToken(): Promise<string | null> {
    const margin = this.token ? Math.min(minimumValidity, this.token.lifetime / 4) : 0;
    if (this.token && this.token.expiresAt - this.deps.now() > margin) return this.token.value;
    if (this.state.status === 'signed-out') return null;
    await this.refresh();
    return this.token ? this.token.value : null;
  }

  // One refresh at a time in this tab (callers share it) and, with Web Locks, over all tabs.
  refresh(): Promise<RefreshOutcome> {
    if (!this.inflight) {
      const startedAt = this.generation;
      const run = () => this.refreshHoldingLock(startedAt);
      const locked = this.deps.locks ? this.deps.locks.request(lockName, run) : run();
      this.inflight = locked.finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshHoldingLock(startedAt: number): Promise<RefreshOutcome> {
    // While this tab waited for the lock another tab may have refreshed and handed over
    // its token: the cookie it used is rotated, so refreshing again is needless.
    if (this.generation !== startedAt && this.token && !this.dueForRefresh(this.token)) {
      return 'refreshed';
    }
    // Read under the lock: the tab that refreshed last stored the current one.
    const csrf = this.csrf();
    if (!csrf) {
      if (this.state.status !== 'signed-out') this.endLocally('ended');
      return 'ended';
    }
    let res: Response;
    try {
      res = await this.deps.fetch('/auth/refresh', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
        body: '{}',
      });
    } catch (e) {
      this.lastError = toApiError(e);
      this.scheduleRetry();
      return 'failed';
    }
    if (res.ok) {
      const grant = (await res.json()) as CookieSessionGrant;
      this.adopt(grant);
      return 'refreshed';
    }
    // 401: expired, revoked or reused; 403: the cookie or CSRF token is not this
    // session's. Either way no refresh will ever work again.
    if (res.status === 401 || res.status === 403) {
      this.endEverywhere(this.state.status === 'signed-in' ? 'ended' : 'none');
      return 'ended';
    }
    // 429, 5xx: the session may be fine; try again later.
    this.lastError = await apiErrorFrom(res);
    this.scheduleRetry();
    return 'failed';
  }

  private adopt(grant: CookieSessionGrant): void {
    const lifetime = Math.max(1, grant.expires_in) * 1000;
    const expiresAt = this.deps.now() + lifetime;
    if (grant.csrf_token) this.deps.storage?.setItem(csrfKey, grant.csrf_token);
    this.useToken({ value: grant.access_token, expiresAt, lifetime }, grant.user);
    this.post({ type: 'token', accessToken: grant.access_token, expiresAt, user: grant.user });
  }

  private useToken(token: AccessToken, user: User): void {
    this.token = token;
    this.generation += 1;
    this.lastError = null;
    this.setState({ status: 'signed-in', user, reason: 'none', startError: null });
    this.scheduleRefresh();
  }

  private receive(message: ChannelMessage): void {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'token') {
      // An older token than this tab's (messages may arrive out of order) changes nothing.
      if (this.token && (this.token.value === message.accessToken || this.token.expiresAt > message.expiresAt)) return;
      const lifetime = Math.max(1000, message.expiresAt - this.deps.now());
      this.useToken({ value: message.accessToken, expiresAt: message.expiresAt, lifetime }, message.user);
    } else if (message.type === 'signed-out') {
      if (this.state.status !== 'signed-out') this.endLocally('logout');
    }
  }

  private endEverywhere(reason: SignedOutReason): void {
    this.deps.storage?.removeItem(csrfKey);
    this.post({ type: 'signed-out' });
    this.endLocally(reason);
  }

  private endLocally(reason: SignedOutReason): void {
    this.token = null;
    this.cancelTimer();
    this.setState({ status: 'signed-out', user: null, reason, startError: null });
  }

  private scheduleRefresh(): void {
    if (!this.token) return;
    const lifetime = this.token.expiresAt - this.deps.now();
    // Refresh a minute early; a token that lives two minutes or less, at half its life.
    const delay = lifetime > 2 * refreshMargin ? lifetime - refreshMargin : lifetime / 2;
    this.setTimer(Math.max(1000, delay));
  }

  private scheduleRetry(): void {
    if (this.state.status === 'signed-in') this.setTimer(retryDelay);
  }

  private setTimer(ms: number): void {
    this.cancelTimer();
    this.timer = this.deps.setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.deps.clearTimeout(this.timer);
    this.timer = null;
  }

  // Asks chatd whether this session still stands (GET /auth/me through authFetch): a session
  // ended elsewhere (an administrator disabled the account or revoked its sessions, "sign out
  // everywhere" on another device) is refused, the refresh is refused too, and the session
  // ends here as it does on any request. The answer also brings the user as chatd has it
  // now (roles changed by an administrator). A network or server failure changes nothing.
  // Callers at the same moment (focus and visibilitychange come together) share one request.
  private checking: Promise<void> | null = null;
  revalidate(): Promise<void> {
    if (this.state.status !== 'signed-in') return Promise.resolve();
    if (!this.checking) {
      this.checking = (async () => {
        try {
          const res = await this.authFetch('/auth/me', { headers: { Accept: 'application/json' } });
          if (!res.ok) return;
          const body = (await res.json()) as { user?: User } | null;
          const user = body?.user;
          if (user && typeof user === 'object' && JSON.stringify(user) !== JSON.stringify(this.state.user)) this.setUser(user);
        } catch {
          // Offline, or not JSON: the next check will tell.
        }
      })().finally(() => {
        this.checking = null;
      });
    }
    return this.checking;
  }

  // A page that was hidden (a sleeping laptop, a background tab whose timers were slowed)
  // checks its token when it is seen again.
  onVisible(): void {
    if (this.state.status === 'signed-in' && this.token && this.dueForRefresh(this.token)) {
      void this.refresh();
    }
  }

  // Within a minute of its expiry (the last half of a token that lives two minutes or less).
  private dueForRefresh(token: AccessToken): boolean {
    return token.expiresAt - this.deps.now() <= Math.min(refreshMargin, token.lifetime / 2);
  }

  private csrf(): string | null {
    try {
      return this.deps.storage?.getItem(csrfKey) ?? null;
    } catch {
      return null;
    }
  }

  private post(message: ChannelMessage): void {
    try {
      this.deps.channel?.postMessage(message);
    } catch {
      // A closed channel: the other tabs learn through storage events.
    }
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const l of this.listeners) l();
  }
}

function withBearer(init: RequestInit, token: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return { ...init, headers };
}

// Whether a 401 refuses the access token. A wrong current password or one-time code (changing
// the password, two-factor authentication) is also a 401, about the request's body: a refresh
// would not help, and the retry's 401 would end a session that is fine.
const bodyRefusals = new Set(['invalid_credentials', 'invalid_otp', 'otp_required']);
async function refusesToken(res: Response): Promise<boolean> {
  try {
    const problem = (await res.clone().json()) as { code?: unknown } | null;
    return !(typeof problem?.code === 'string' && bodyRefusals.has(problem.code));
  } catch {
    return true;
  }
}

function unauthorizedResponse(): Response {
  return new Response(JSON.stringify({ status: 401, code: 'unauthorized', detail: 'not signed in' }), {
    status: 401,
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

export interface PageEvents {
  isVisible(): boolean;
  onFocus(listener: () => void): () => void;
  onVisibilityChange(listener: () => void): () => void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const revalidateEvery = 60_000;

// When the page gets the focus, comes into view, and every minute while it is in view, the
// session is checked with chatd (SessionManager.revalidate), so that a session ended
// elsewhere brings this tab to the sign-in page without waiting for its next request.
// Returns what stops it.
export function revalidateWhileVisible(session: Pick<SessionManager, 'revalidate'>, page: PageEvents): () => void {
  const check = () => void session.revalidate();
  const offFocus = page.onFocus(check);
  const offVisibility = page.onVisibilityChange(() => {
    if (page.isVisible()) check();
  });
  const interval = page.setInterval(() => {
    if (page.isVisible()) check();
  }, revalidateEvery);
  return () => {
    offFocus();
    offVisibility();
    page.clearInterval(interval);
  };
}

// The session of this browser tab, with the browser's own fetch, storage, channel and locks.
export function browserSession(): SessionManager {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName) : null;
  const locks = typeof navigator !== 'undefined' && navigator.locks ? navigator.locks : null;
  let storage: KeyValueStore | null = null;
  try {
    storage = window.localStorage;
  } catch {
    storage = null;
  }
  const session = new SessionManager({
    fetch: (input, init) => window.fetch(input, init),
    storage,
    channel,
    locks: locks ? { request: <T,>(name: string, cb: () => Promise<T>) => locks.request(name, cb) as Promise<T> } : null,
    now: () => Date.now(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
    watchStorage: (key, onChange) => {
      const listener = (e: StorageEvent) => {
        if (e.key === key || e.key === null) onChange(e.key === null ? null : e.newValue);
      };
      window.addEventListener('storage', listener);
      return () => window.removeEventListener('storage', listener);
    },
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') session.onVisible();
  });
  revalidateWhileVisible(session, {
    isVisible: () => document.visibilityState === 'visible',
    onFocus: (listener) => {
      window.addEventListener('focus', listener);
      return () => window.removeEventListener('focus', listener);
    },
    onVisibilityChange: (listener) => {
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
    setInterval: (fn, ms) => window.setInterval(fn, ms),
    clearInterval: (handle) => window.clearInterval(handle as number),
  });
  return session;
}
