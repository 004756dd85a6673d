import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { publicApi } from '../../api/client';
import { SessionProvider } from '../../session/context';
import { SessionManager } from '../../session/session';
import { LoginPage } from './LoginPage';
import { RegisterPage } from './RegisterPage';

const user = {
  id: 'u1',
  email: 'ann@example.com',
  username: 'ann',
  email_verified: true,
  roles: ['user'],
  totp_enabled: true,
  created_at: '2025-01-01T00:00:00Z',
  last_login_at: null,
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

type Handler = (path: string, body: Record<string, unknown>) => Response;

function setup(page: 'login' | 'register', handler: Handler) {
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const fetch = vi.fn(async (path: string, init?: RequestInit) => {
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    calls.push({ path, body });
    return handler(path, body);
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
  void session.start();
  render(
    <SessionProvider session={session} publicApi={publicApi(fetch)}>
      <MemoryRouter initialEntries={[`/${page}`]}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/register" element={<RegisterPage />} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
  return { calls, session };
}

describe('LoginPage', () => {
  it('asks for the one-time code after otp_required and sends it with the password', async () => {
    const { calls, session } = setup('login', (path, body) => {
      if (path !== '/auth/login') return json(404, {});
      if (!body['otp']) return json(401, { code: 'otp_required', status: 401 });
      if (body['otp'] !== 'abcde-12345') return json(401, { code: 'invalid_otp', status: 401 });
      return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 900, csrf_token: 'c', user });
    });
    await userEvent.type(screen.getByLabelText('Email or username'), 'ann');
    await userEvent.type(screen.getByLabelText('Password'), 'a good passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    const otp = await screen.findByRole('textbox', { name: 'One-time code' });
    expect(otp).toHaveProperty('id', document.activeElement?.id);
    await userEvent.type(otp, '123456');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByText('That code is not right, has expired or was already used.')).toBeTruthy();

    await userEvent.clear(otp);
    await userEvent.type(otp, 'abcde-12345'); // a recovery code goes in the same field
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    await vi.waitFor(() => expect(session.getState().status).toBe('signed-in'));
    expect(calls.map((c) => c.body)).toEqual([
      { login: 'ann', password: 'a good passphrase', session: 'cookie' },
      { login: 'ann', password: 'a good passphrase', otp: '123456', session: 'cookie' },
      { login: 'ann', password: 'a good passphrase', otp: 'abcde-12345', session: 'cookie' },
    ]);
  });

  it('shows why sign-in failed, with the wait a rate limit asks for', async () => {
    setup('login', () => json(429, { code: 'rate_limited', status: 429 }, { 'Retry-After': '30' }));
    await userEvent.type(screen.getByLabelText('Email or username'), 'ann');
    await userEvent.type(screen.getByLabelText('Password'), 'whatever');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Too many attempts. Try again in 30 seconds.');
  });

  it('offers a new verification link when the e-mail is not confirmed', async () => {
    const { calls } = setup('login', (path) =>
      path === '/auth/login' ? json(403, { code: 'email_not_verified', status: 403 }) : json(202, { status: 'accepted' }),
    );
    await userEvent.type(screen.getByLabelText('Email or username'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'a good passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Send the link again' }));
    expect(await screen.findByText(/a new link is on its way/)).toBeTruthy();
    expect(calls[1]).toEqual({ path: '/auth/email/verify/request', body: { email: 'ann@example.com' } });
  });
});

describe('RegisterPage', () => {
  it('checks the password length as the user types', async () => {
    setup('register', () => json(500, {}));
    const password = screen.getByLabelText('Password');
    const rule = () => screen.getByText('At least 12 characters').closest('li')!;
    expect(rule().className).toBe('rule-pending');
    await userEvent.type(password, 'twelve chars');
    expect(rule().className).toBe('rule-ok');
  });

  it('puts field errors beside their fields and the invite-only refusal beside the invitation code', async () => {
    let answer = json(422, {
      code: 'validation_failed',
      status: 422,
      errors: [{ field: 'password', message: 'is too common' }],
    });
    const { calls } = setup('register', () => answer);
    await userEvent.type(screen.getByLabelText('Email'), 'ann@example.com');
    await userEvent.type(screen.getByLabelText('Username'), 'ann');
    await userEvent.type(screen.getByLabelText('Password'), 'password1234');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    const password = screen.getByLabelText('Password');
    await vi.waitFor(() => expect(password.getAttribute('aria-invalid')).toBe('true'));
    const described = password.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)?.textContent);
    expect(described).toContain('Password is too common');

    answer = json(403, { code: 'forbidden', status: 403, detail: 'registration needs an invitation' });
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    const invite = screen.getByRole('textbox', { name: 'Invitation code' });
    await vi.waitFor(() => expect(invite.getAttribute('aria-invalid')).toBe('true'));
    expect(document.activeElement).toBe(invite);

    answer = json(201, { user });
    await userEvent.type(invite, 'inv_123');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('Check your e-mail')).toBeTruthy();
    expect(calls[calls.length - 1]!.body).toEqual({
      email: 'ann@example.com',
      username: 'ann',
      password: 'password1234',
      invite_code: 'inv_123',
    });
  });
});
