import { act, configure, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AdminUser, AuditEntry } from '../../api/admin';
import { AccountMenu } from '../../components/AccountMenu';
import { SessionProvider } from '../../session/context';
import { SessionManager } from '../../session/session';
import ConsoleApp from './ConsoleApp';

// The machine that runs these may be busy: wait up to 5 s for what the page does.
configure({ asyncUtilTimeout: 5000 });

// Chart.js draws on a canvas, which jsdom does not have: a stand-in records each chart.
const charts = vi.hoisted(() => [] as { config: { data: { labels: string[]; datasets: { label: string; data: number[] }[] } }; destroyed: boolean }[]);
vi.mock('chart.js', () => {
  class Chart {
    static register() {}
    config: unknown;
    destroyed = false;
    constructor(_canvas: unknown, config: unknown) {
      this.config = config;
      charts.push(this as never);
    }
    destroy() {
      this.destroyed = true;
    }
  }
  return { Chart, BarController: {}, BarElement: {}, CategoryScale: {}, LinearScale: {}, Legend: {}, Tooltip: {} };
});

function person(id: string, username: string, over: Partial<AdminUser> = {}): AdminUser {
  return {
    id,
    email: `${username}@example.com`,
    username,
    email_verified: true,
    roles: ['user'],
    totp_enabled: false,
    created_at: '2025-01-01T00:00:00Z',
    last_login_at: null,
    disabled: false,
    locked_until: null,
    ...over,
  };
}

function json(status: number, body: unknown): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

// chatd's admin API as API.md describes it, over a few users.
class FakeChatd {
  users: AdminUser[] = [];
  calls: { method: string; path: string; body: unknown }[] = [];
  audit: AuditEntry[] = [];
  kids = ['kid-1'];
  me: AdminUser;

  constructor(me: AdminUser) {
    this.me = me;
    this.users.push(me);
  }

  fetch = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const method = init.method ?? 'GET';
    const body = init.body ? (JSON.parse(String(init.body)) as unknown) : undefined;
    this.calls.push({ method, path, body });
    const url = new URL(path, 'http://chatd');
    const p = url.pathname;
    if (p === '/auth/login') {
      return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 900, csrf_token: 'c', user: this.me });
    }
    if (p.startsWith('/admin/') && !this.me.roles.includes('admin')) return json(403, { status: 403, code: 'forbidden' });
    if (p === '/admin/users') {
      const q = (url.searchParams.get('q') ?? '').toLowerCase();
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const found = this.users.filter((u) => u.username.includes(q) || u.email.includes(q));
      const items = found.slice(start, start + limit);
      return json(200, { items, next_cursor: start + limit < found.length ? String(start + limit) : null });
    }
    const one = p.match(/^\/admin\/users\/([^/]+)$/);
    if (one) {
      const user = this.users.find((u) => u.id === decodeURIComponent(one[1]!));
      if (!user) return json(404, { status: 404, code: 'not_found' });
      if (method === 'PATCH') {
        const patch = body as { roles?: string[]; disabled?: boolean; unlock?: boolean };
        if (patch.roles) user.roles = [...patch.roles].sort();
        if (patch.disabled !== undefined) user.disabled = patch.disabled;
        if (patch.unlock) user.locked_until = null;
      }
      return json(200, user);
    }
    if (/^\/admin\/users\/[^/]+\/sessions\/revoke$/.test(p)) return json(204, null);
    if (p === '/admin/audit') {
      const userId = url.searchParams.get('user_id');
      const event = url.searchParams.get('event');
      const items = this.audit.filter((e) => (!userId || e.user_id === userId) && (!event || e.event === event));
      return json(200, { items, next_cursor: null });
    }
    if (p === '/admin/usage') {
      const by = url.searchParams.get('group_by');
      const t = (requests: number, prompt: number, completion: number) => ({
        requests,
        prompt_tokens: prompt,
        completion_tokens: completion,
        cost_usd: (prompt + completion) / 1000,
      });
      if (by === 'day,model') {
        return json(200, {
          items: [
            { key: '2025-03-09', model: 'gpt-test', ...t(2, 100, 50) },
            { key: '2025-03-10', model: 'gpt-test', ...t(1, 30, 20) },
            { key: '2025-03-10', model: 'gpt-other', ...t(1, 400, 100) },
          ],
        });
      }
      if (by === 'user') {
        return json(200, {
          items: [
            { key: 'u-bob', username: 'bob', ...t(3, 130, 70) },
            { key: 'u-carol', username: 'carol, "the admin"', ...t(1, 400, 100) },
          ],
        });
      }
      return json(200, { items: [{ key: 'gpt-test', ...t(3, 130, 70) }, { key: 'gpt-other', ...t(1, 400, 100) }] });
    }
    if (p === '/admin/keys') {
      const current = this.kids[this.kids.length - 1]!;
      return json(200, { current_kid: current, keys: this.kids.map((kid) => ({ kid, current: kid === current })) });
    }
    if (p === '/auth/keys/rotate') {
      this.kids.push(`kid-${this.kids.length + 1}`);
      return json(200, { kid: this.kids[this.kids.length - 1] });
    }
    return json(404, { status: 404, code: 'not_found' });
  };

  adminCalls() {
    return this.calls.filter((c) => c.path.startsWith('/admin/'));
  }
}

function Where() {
  const location = useLocation();
  return <div data-testid="where">{location.pathname + location.search}</div>;
}

async function setup(at: string, { admin = true, prepare }: { admin?: boolean; prepare?: (chatd: FakeChatd) => void } = {}) {
  const me = person('u-root', 'root', { roles: admin ? ['admin', 'user'] : ['user'] });
  const chatd = new FakeChatd(me);
  chatd.users.push(
    person('u-bob', 'bob'),
    person('u-carol', 'carol', { locked_until: new Date(Date.now() + 600_000).toISOString() }),
  );
  prepare?.(chatd);
  const session = new SessionManager({
    fetch: (path, init) => chatd.fetch(path, init),
    storage: window.localStorage,
    channel: null,
    locks: null,
    now: () => Date.now(),
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  });
  await session.login('root', 'pw');
  chatd.calls = [];
  render(
    <SessionProvider session={session}>
      <MemoryRouter initialEntries={[at]}>
        <Routes>
          <Route path="/console/*" element={<ConsoleApp />} />
          <Route path="/" element={<p>the chat</p>} />
        </Routes>
        <Where />
      </MemoryRouter>
    </SessionProvider>,
  );
  return { chatd, session };
}

const where = () => screen.getByTestId('where').textContent;

beforeEach(() => {
  charts.length = 0;
});

afterEach(() => {
  document.title = '';
});

describe('the console for someone who is not an administrator', () => {
  it.each(['/console', '/console/users', '/console/users/u-bob', '/console/audit', '/console/usage', '/console/keys'])(
    'shows "Not allowed" at %s and asks chatd nothing',
    async (path) => {
      const { chatd } = await setup(path, { admin: false });
      expect(await screen.findByRole('heading', { name: 'Not allowed', level: 1 })).toBeTruthy();
      expect(screen.queryByRole('navigation', { name: 'Administration' })).toBeNull();
      await userEvent.click(screen.getByRole('link', { name: 'Back to the chat' }));
      expect(where()).toBe('/');
      expect(chatd.adminCalls()).toEqual([]);
    },
  );
});

describe('the account menu', () => {
  async function menuFor(roles: string[]) {
    const me = person('u-root', 'root', { roles });
    const chatd = new FakeChatd(me);
    const session = new SessionManager({
      fetch: chatd.fetch,
      storage: window.localStorage,
      channel: null,
      locks: null,
      now: () => Date.now(),
      setTimeout: () => 0,
      clearTimeout: () => undefined,
    });
    await session.login('root', 'pw');
    render(
      <SessionProvider session={session}>
        <MemoryRouter initialEntries={['/']}>
          <AccountMenu />
          <Where />
        </MemoryRouter>
      </SessionProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Account' }));
  }

  it('offers "Administration" to administrators', async () => {
    await menuFor(['admin', 'user']);
    await userEvent.click(screen.getByRole('menuitem', { name: 'Administration' }));
    expect(where()).toBe('/console');
  });

  it('does not offer it to others', async () => {
    await menuFor(['user']);
    expect(screen.getByRole('menuitem', { name: 'Settings' })).toBeTruthy();
    expect(screen.queryByRole('menuitem', { name: 'Administration' })).toBeNull();
  });
});

describe('users', () => {
  it('goes from /console to the users, lists them and searches as the administrator types', async () => {
    const { chatd } = await setup('/console');
    const nav = await screen.findByRole('navigation', { name: 'Administration' });
    expect(within(nav).getAllByRole('link').map((l) => l.textContent)).toEqual(['Users', 'Audit log', 'Usage', 'Signing keys']);
    await waitFor(() => expect(where()).toBe('/console/users'));
    expect(await screen.findByRole('link', { name: 'bob' })).toBeTruthy();
    expect(document.title).toBe('Users · Administration · chatd');
    const row = screen.getByRole('link', { name: 'carol' }).closest('tr')!;
    expect(row.textContent).toMatch(/Locked until/);

    await userEvent.type(screen.getByRole('searchbox', { name: 'Search users' }), 'bo');
    await waitFor(() => expect(screen.queryByRole('link', { name: 'carol' })).toBeNull());
    expect(screen.getByRole('link', { name: 'bob' })).toBeTruthy();
    // One request for the pause after "bo", none for "b" alone.
    const searches = chatd.adminCalls().filter((c) => c.path.startsWith('/admin/users?'));
    expect(searches.map((c) => new URL(c.path, 'http://x').searchParams.get('q'))).toEqual([null, 'bo']);
    expect(where()).toBe('/console/users?q=bo');
  });

  it('pages through with "Load more"', async () => {
    const { chatd } = await setup('/console/users');
    for (let i = 0; i < 30; i++) chatd.users.push(person(`u-x${i}`, `xavier${String(i).padStart(2, '0')}`));
    await userEvent.type(await screen.findByRole('searchbox', { name: 'Search users' }), 'xavier');
    expect(await screen.findByRole('link', { name: 'xavier24' })).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'xavier25' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Load more' }));
    expect(await screen.findByRole('link', { name: 'xavier29' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    const last = chatd.adminCalls().at(-1)!;
    expect(new URL(last.path, 'http://x').searchParams.get('cursor')).toBe('25');
  });

  it('opens a user, and grants and removes the administrator role after a confirmation', async () => {
    const { chatd } = await setup('/console/users');
    await userEvent.click(await screen.findByRole('link', { name: 'bob' }));
    expect(await screen.findByRole('heading', { name: 'bob', level: 1 })).toBeTruthy();
    expect(where()).toBe('/console/users/u-bob');

    const box = screen.getByRole('checkbox', { name: 'Administrator' });
    expect((box as HTMLInputElement).checked).toBe(false);
    await userEvent.click(box);
    let dialog = screen.getByRole('dialog');
    expect((box as HTMLInputElement).checked).toBe(false); // not before it is confirmed
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(chatd.calls.filter((c) => c.method === 'PATCH')).toEqual([]);

    await userEvent.click(box);
    dialog = screen.getByRole('dialog');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('bob is now an administrator.')).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('bob is now an administrator.');
    expect((screen.getByRole('checkbox', { name: 'Administrator' }) as HTMLInputElement).checked).toBe(true);
    expect(chatd.calls.filter((c) => c.method === 'PATCH').map((c) => c.body)).toEqual([{ roles: ['user', 'admin'] }]);

    await userEvent.click(screen.getByRole('checkbox', { name: 'Administrator' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('bob is no longer an administrator.')).toBeTruthy();
    expect(chatd.users.find((u) => u.id === 'u-bob')!.roles).toEqual(['user']);
  });

  it('disables and enables an account, and revokes its sessions', async () => {
    const { chatd } = await setup('/console/users/u-bob');
    await userEvent.click(await screen.findByRole('button', { name: 'Disable account' }));
    expect(within(screen.getByRole('dialog')).getByRole('heading').textContent).toBe('Disable the account of bob?');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('The account of bob is disabled and its sessions have ended.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByText('Disabled')).toBeTruthy();

    await userEvent.click(screen.getByRole('button', { name: 'Enable account' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('The account of bob is enabled.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Disable account' })).toBeTruthy();

    await userEvent.click(screen.getByRole('button', { name: 'Revoke sessions' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Every session of bob has ended.')).toBeTruthy();
    expect(chatd.calls.filter((c) => c.method !== 'GET').map((c) => [c.method, c.path, c.body])).toEqual([
      ['PATCH', '/admin/users/u-bob', { disabled: true }],
      ['PATCH', '/admin/users/u-bob', { disabled: false }],
      ['POST', '/admin/users/u-bob/sessions/revoke', undefined],
    ]);
  });

  it('offers "Unlock" only while the account is locked', async () => {
    await setup('/console/users/u-carol');
    await userEvent.click(await screen.findByRole('button', { name: 'Unlock' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('The account of carol is unlocked.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Unlock' })).toBeNull();
    // The button that had the focus is gone: the heading has it.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'carol', level: 1 })));
  });

  it('does not let administrators remove their own role or disable themselves', async () => {
    await setup('/console/users/u-root');
    const box = (await screen.findByRole('checkbox', { name: 'Administrator' })) as HTMLInputElement;
    expect(box.checked).toBe(true);
    expect(box.disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Disable account' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('You cannot remove your own administrator role.')).toBeTruthy();
  });

  it('shows chatd\'s reason when it refuses a change', async () => {
    const { chatd } = await setup('/console/users/u-bob');
    const real = chatd.fetch;
    chatd.fetch = async (path, init) =>
      init?.method === 'PATCH'
        ? json(422, { status: 422, code: 'validation_failed', errors: [{ field: 'roles', message: 'unknown role "x"' }] })
        : real(path, init);
    await userEvent.click(await screen.findByRole('checkbox', { name: 'Administrator' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Unknown role "x".');
  });

  it('says so for a user that does not exist', async () => {
    await setup('/console/users/nobody');
    expect(await screen.findByText('This user does not exist.')).toBeTruthy();
  });
});

describe('the audit log', () => {
  const entries: AuditEntry[] = [
    {
      id: 'e2',
      at: '2025-03-10T10:00:00Z',
      event: 'user.disabled',
      user_id: 'u-bob',
      actor_id: 'u-root',
      ip: '10.0.0.1',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      detail: {},
      username: 'bob',
      actor_username: 'root',
    },
    {
      id: 'e1',
      at: '2025-03-10T09:00:00Z',
      event: 'login.failed',
      user_id: 'u-bob',
      actor_id: null,
      ip: '10.0.0.2',
      user_agent: 'curl/8.5.0',
      detail: { reason: 'password' },
      username: 'bob',
      actor_username: null,
    },
  ];

  it('shows who did what to whom, from where, with the detail to unfold', async () => {
    await setup('/console/audit', { prepare: (chatd) => (chatd.audit = entries) });
    const list = await screen.findByRole('list', { name: 'Events' });
    await waitFor(() => expect(within(list).getAllByRole('listitem')).toHaveLength(2));
    const [first, second] = within(list).getAllByRole('listitem');
    expect(first!.textContent).toContain('root disabled the account of bob');
    expect(first!.textContent).toContain('10.0.0.1 · Firefox on Linux');
    expect(within(first!).getByRole('link', { name: 'bob' }).getAttribute('href')).toBe('/console/users/u-bob');
    expect(second!.textContent).toContain('Failed sign-in to the account of bob');
    expect(second!.textContent).toContain('10.0.0.2 · curl');
    const details = second!.querySelector('details')!;
    expect(details.open).toBe(false);
    expect(details.querySelector('pre')!.textContent).toBe('{\n  "reason": "password"\n}');
  });

  it('filters by a username (looked up), an event and days', async () => {
    const { chatd } = await setup('/console/audit', { prepare: (c) => (c.audit = entries) });
    await screen.findByRole('list', { name: 'Events' });
    await userEvent.type(screen.getByRole('textbox', { name: 'User' }), 'bob');
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Event' }), 'login.failed');
    await userEvent.type(screen.getByLabelText('From'), '2025-03-01');
    await userEvent.type(screen.getByLabelText('To'), '2025-03-10');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(within(screen.getByRole('list', { name: 'Events' })).getAllByRole('listitem')).toHaveLength(1));
    expect(where()).toBe('/console/audit?user=bob&event=login.failed&from=2025-03-01&to=2025-03-10');
    const audit = chatd.adminCalls().filter((c) => c.path.startsWith('/admin/audit')).at(-1)!;
    const params = new URL(audit.path, 'http://x').searchParams;
    expect(Object.fromEntries(params)).toEqual({
      user_id: 'u-bob',
      event: 'login.failed',
      from: '2025-03-01',
      to: '2025-03-11', // the whole of the 10th
      limit: '50',
    });
    expect(chatd.adminCalls().some((c) => c.path === '/admin/users?q=bob&limit=100')).toBe(true);
  });

  it('takes a user id as it is, and says when no user has the name', async () => {
    const { chatd } = await setup('/console/audit?user=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    await waitFor(() => expect(chatd.adminCalls().some((c) => c.path.includes('user_id=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'))).toBe(true));
    expect(chatd.adminCalls().some((c) => c.path.startsWith('/admin/users'))).toBe(false);

    const field = screen.getByRole('textbox', { name: 'User' });
    await userEvent.clear(field);
    await userEvent.type(field, 'nobody');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    expect(await screen.findByText('No user is named “nobody”.')).toBeTruthy();
  });
});

describe('usage', () => {
  it('draws tokens per day and model and the top users, with text alternatives and CSV files', async () => {
    const created: Blob[] = [];
    const clicked: { href: string; download: string }[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return `blob:chatd/${created.length}`;
    });
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    });

    const { chatd } = await setup('/console/usage?from=2025-03-08&to=2025-03-10');
    const perDay = await screen.findByRole('region', { name: 'Tokens per day' });
    const usage = chatd.adminCalls().filter((c) => c.path.startsWith('/admin/usage'));
    expect(usage.map((c) => Object.fromEntries(new URL(c.path, 'http://x').searchParams))).toEqual([
      { from: '2025-03-08', to: '2025-03-11', group_by: 'day,model' },
      { from: '2025-03-08', to: '2025-03-11', group_by: 'user' },
      { from: '2025-03-08', to: '2025-03-11', group_by: 'model' },
    ]);

    const dayChart = within(perDay).getByRole('img');
    expect(dayChart.getAttribute('aria-label')).toBe(
      'Tokens per day and model, 2025-03-08 to 2025-03-10: gpt-other 500 tokens, gpt-test 200 tokens.',
    );
    const live = charts.filter((c) => !c.destroyed);
    expect(live).toHaveLength(2);
    expect(live[0]!.config.data.labels).toEqual(['2025-03-08', '2025-03-09', '2025-03-10']);
    expect(live[0]!.config.data.datasets.map((d) => [d.label, d.data])).toEqual([
      ['gpt-other', [0, 0, 500]],
      ['gpt-test', [0, 150, 50]],
    ]);

    const users = screen.getByRole('region', { name: 'Top users' });
    expect(within(users).getByRole('img').getAttribute('aria-label')).toBe(
      'The 2 users with the most tokens, 2025-03-08 to 2025-03-10: carol, "the admin" 500 tokens, bob 200 tokens.',
    );
    expect(live[1]!.config.data.labels).toEqual(['carol, "the admin"', 'bob']);

    const models = screen.getByRole('region', { name: 'By model' });
    const rows = within(within(models).getByRole('table')).getAllByRole('row');
    expect(rows.map((r) => r.textContent)).toEqual([
      'ModelRequestsPrompt tokensCompletion tokensTokensCost (USD)',
      'gpt-other1400100500$0.50',
      'gpt-test313070200$0.20',
      'Total4530170700$0.70',
    ]);

    await userEvent.click(within(users).getByRole('button', { name: 'Export CSV' }));
    expect(clicked).toEqual([{ href: 'blob:chatd/1', download: 'chatd-usage-per-user-2025-03-08-to-2025-03-10.csv' }]);
    expect(created[0]!.type).toBe('text/csv;charset=utf-8');
    expect(await created[0]!.text()).toBe(
      'user_id,username,requests,prompt_tokens,completion_tokens,total_tokens,cost_usd\r\n' +
        'u-carol,"carol, ""the admin""",1,400,100,500,0.5\r\n' +
        'u-bob,bob,3,130,70,200,0.2\r\n',
    );
    await userEvent.click(within(perDay).getByRole('button', { name: 'Export CSV' }));
    expect(await created[1]!.text()).toBe(
      'day,model,requests,prompt_tokens,completion_tokens,cost_usd\r\n' +
        '2025-03-09,gpt-test,2,100,50,0.15\r\n' +
        '2025-03-10,gpt-other,1,400,100,0.5\r\n' +
        '2025-03-10,gpt-test,1,30,20,0.05\r\n',
    );
  });

  it('asks for the last 30 days by default and refuses a range that ends before it starts', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-03-10T12:00:00Z'));
    const { chatd } = await setup('/console/usage');
    await screen.findByRole('region', { name: 'Tokens per day' });
    const first = chatd.adminCalls().find((c) => c.path.startsWith('/admin/usage'))!;
    expect(Object.fromEntries(new URL(first.path, 'http://x').searchParams)).toMatchObject({ from: '2025-02-09', to: '2025-03-11' });
    vi.useRealTimers();

    const from = screen.getByLabelText('From');
    await userEvent.clear(from);
    await userEvent.type(from, '2025-03-20');
    expect(await screen.findByText('“From” must not be after “To”.')).toBeTruthy();
    expect(chatd.adminCalls().filter((c) => c.path.startsWith('/admin/usage'))).toHaveLength(3);
  });
});

describe('signing keys', () => {
  it('shows the current key and the older ones, and rotates after a confirmation', async () => {
    const { chatd } = await setup('/console/keys', { prepare: (c) => (c.kids = ['kid-old', 'kid-1']) });
    expect(await screen.findByText('kid-1')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Rotate signing key' }));
    const dialog = screen.getByRole('dialog');
    expect(within(dialog).getByRole('heading').textContent).toBe('Rotate the signing key?');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('New signing key: kid-3')).toBeTruthy();
    const current = screen.getByRole('region', { name: 'Current signing key' });
    expect(within(current).getByText('kid-3')).toBeTruthy();
    const older = screen.getByRole('region', { name: 'Older keys still accepted' });
    expect(within(older).getByText('kid-1')).toBeTruthy();
    expect(chatd.calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual(['/auth/keys/rotate']);
  });
});

describe('focus', () => {
  it('moves to the heading of a section the administrator goes to', async () => {
    await setup('/console/users');
    await screen.findByRole('link', { name: 'bob' });
    await act(async () => {
      await userEvent.click(screen.getByRole('link', { name: 'Signing keys' }));
    });
    const heading = await screen.findByRole('heading', { name: 'Signing keys', level: 1 });
    await waitFor(() => expect(document.activeElement).toBe(heading));
  });

  it('waits for a page that loads first, and leaves it alone on the first page', async () => {
    await setup('/console');
    await screen.findByRole('link', { name: 'bob' });
    expect(document.activeElement).toBe(document.body); // /console sent on to /console/users
    await userEvent.click(screen.getByRole('link', { name: 'bob' }));
    const heading = await screen.findByRole('heading', { name: 'bob', level: 1 });
    await waitFor(() => expect(document.activeElement).toBe(heading));
  });
});
