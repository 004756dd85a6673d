// For the settings' component tests: a signed-in session against a scripted chatd, and the
// settings area rendered at a path.
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { vi } from 'vitest';
import { publicApi } from '../../api/client';
import type { User } from '../../api/types';
import { SessionProvider } from '../../session/context';
import { SessionManager } from '../../session/session';
import SettingsLayout from './SettingsLayout';

export const testUser: User = {
  id: 'u1',
  email: 'ann@example.com',
  username: 'ann',
  email_verified: true,
  roles: ['user'],
  totp_enabled: false,
  created_at: '2025-01-02T10:00:00Z',
  last_login_at: '2025-03-04T08:30:00Z',
};

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  if (status === 204) return new Response(null, { status });
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(JSON.stringify(body ?? {}), { status, headers: { 'Content-Type': type, ...headers } });
}

export function problem(status: number, code: string, errors?: { field: string; message: string }[]): Response {
  return json(status, { status, code, title: code, detail: code, ...(errors ? { errors } : {}) });
}

export interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

// "METHOD /path" (the query string left out) -> the answer; anything else is a 404.
export type FakeRoutes = Record<string, (call: Call & { url: URL }) => Response | Promise<Response>>;

export async function renderSettings(path: string, routes: FakeRoutes, user: Partial<User> = {}) {
  const calls: Call[] = [];
  const me: User = { ...testUser, ...user };
  const fetch = vi.fn(async (input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://chatd.test');
    const method = init?.method ?? 'GET';
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : null;
    const call = { method, path: url.pathname + url.search, body };
    if (url.pathname === '/auth/login') {
      return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 900, csrf_token: 'c', user: me });
    }
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    if (handler) return handler({ ...call, url });
    if (method === 'GET' && url.pathname === '/auth/me') return json(200, { user: me });
    if (method === 'GET' && url.pathname === '/invitations') return json(200, { items: [], next_cursor: null, can_create: false });
    if (method === 'GET' && url.pathname === '/models') return json(200, { items: [{ id: 'gpt-test', provider: 'p', context_window: 8192 }], default_model: 'gpt-test' });
    if (method === 'POST' && url.pathname === '/auth/logout') return json(204);
    if (method === 'POST' && url.pathname === '/auth/logout-all') return json(204);
    return problem(404, 'not_found');
  });
  const session = new SessionManager({
    fetch,
    storage: window.localStorage,
    channel: null,
    locks: null,
    now: () => Date.now(),
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  });
  await session.login('ann', 'a good passphrase');
  const location: { current: string } = { current: path };
  function Where() {
    location.current = useLocation().pathname;
    return null;
  }
  const view = render(
    <SessionProvider session={session} publicApi={publicApi(fetch)}>
      <MemoryRouter initialEntries={[path]}>
        <Where />
        <Routes>
          <Route path="/settings/*" element={<SettingsLayout />} />
          <Route path="/login" element={<p>sign-in page</p>} />
          <Route path="/" element={<p>chat page</p>} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
  return { calls, session, fetch, location, view };
}
