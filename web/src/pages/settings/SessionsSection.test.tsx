import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderSettings } from './testkit';

const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const android =
  'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';

function sessions() {
  return [
    { id: 's-old', created_at: '2025-01-01T10:00:00Z', last_used_at: '2025-01-02T10:00:00Z', expires_at: '2025-02-01T10:00:00Z', ip: '203.0.113.9', user_agent: 'curl/8.5.0', current: false },
    { id: 's-phone', created_at: '2025-01-03T10:00:00Z', last_used_at: '2025-01-05T10:00:00Z', expires_at: '2025-02-03T10:00:00Z', ip: '198.51.100.7', user_agent: android, current: false },
    { id: 's-here', created_at: '2025-01-04T10:00:00Z', last_used_at: '2025-01-04T11:00:00Z', expires_at: '2025-02-04T10:00:00Z', ip: '127.0.0.1', user_agent: firefox, current: true },
    { id: 's-what', created_at: '2025-01-04T10:00:00Z', last_used_at: '2025-01-04T10:00:00Z', expires_at: '2025-02-04T10:00:00Z', ip: null, user_agent: null, current: false },
  ];
}

describe('SessionsSection', () => {
  it('lists the sessions by device, this one first and marked', async () => {
    await renderSettings('/settings/sessions', { 'GET /auth/sessions': () => json(200, { items: sessions() }) });
    const list = await screen.findByRole('list', { name: 'Active sessions' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows.map((r) => r.getAttribute('aria-labelledby') && document.getElementById(r.getAttribute('aria-labelledby')!)?.textContent)).toEqual([
      'Firefox on Linux',
      'Chrome on Android',
      'Unknown device',
      'curl',
    ]);
    expect(within(rows[0]!).getByText('This device')).toBeTruthy();
    expect(within(rows[1]!).queryByText('This device')).toBeNull();
    expect(within(rows[1]!).getByText('198.51.100.7')).toBeTruthy();
    expect(within(rows[1]!).getByRole('button', { name: 'Revoke' })).toBeTruthy();
  });

  it('revokes another session at once', async () => {
    const { calls, session } = await renderSettings('/settings/sessions', {
      'GET /auth/sessions': () => json(200, { items: sessions() }),
      'DELETE /auth/sessions/s-phone': () => json(204),
    });
    const list = await screen.findByRole('list', { name: 'Active sessions' });
    const row = within(list).getByRole('listitem', { name: 'Chrome on Android' });
    await userEvent.click(within(row).getByRole('button', { name: 'Revoke' }));
    expect(await screen.findByText('Signed out: Chrome on Android.')).toBeTruthy();
    expect(within(list).queryByRole('listitem', { name: 'Chrome on Android' })).toBeNull();
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/auth/sessions/s-phone')).toBe(true);
    expect(session.getState().status).toBe('signed-in');
  });

  it('revoking this device asks first, then signs out', async () => {
    const { calls, session } = await renderSettings('/settings/sessions', {
      'GET /auth/sessions': () => json(200, { items: sessions() }),
    });
    const list = await screen.findByRole('list', { name: 'Active sessions' });
    const row = within(list).getByRole('listitem', { name: 'Firefox on Linux' });
    await userEvent.click(within(row).getByRole('button', { name: 'Revoke' }));
    const dialog = await screen.findByRole('dialog', { name: 'Sign out of this device?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(session.getState().status).toBe('signed-in');
    await userEvent.click(within(row).getByRole('button', { name: 'Revoke' }));
    await userEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Confirm' }));
    await vi.waitFor(() => expect(session.getState().status).toBe('signed-out'));
    expect(calls.some((c) => c.path === '/auth/logout')).toBe(true);
  });

  it('signs out everywhere after a confirmation', async () => {
    const { calls, session } = await renderSettings('/settings/sessions', {
      'GET /auth/sessions': () => json(200, { items: sessions() }),
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Sign out everywhere' }));
    const dialog = await screen.findByRole('dialog', { name: 'Sign out everywhere?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
    await vi.waitFor(() => expect(session.getState().status).toBe('signed-out'));
    expect(calls.some((c) => c.path === '/auth/logout-all')).toBe(true);
  });
});
