import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { invitationLink, invitationStatus } from './InvitationsSection';
import { json, problem, renderSettings } from './testkit';

const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const invitations = [
  { id: 'i1', code_prefix: 'AbCd', email: 'bob@example.com', created_at: iso(now - 3600e3), expires_at: iso(now + 3600e3), accepted_at: null, invitee_id: null },
  { id: 'i2', code_prefix: 'EfGh', email: null, created_at: iso(now - 7200e3), expires_at: iso(now + 3600e3), accepted_at: iso(now - 600e3), invitee_id: 'u2' },
  { id: 'i3', code_prefix: 'IjKl', email: 'cy@example.com', created_at: iso(now - 90000e3), expires_at: iso(now - 1000), accepted_at: null, invitee_id: null },
];

describe('invitationStatus', () => {
  it('is accepted, expired or pending', () => {
    expect(invitations.map((i) => invitationStatus(i, now))).toEqual(['pending', 'accepted', 'expired']);
  });
  it('links to the registration page with the code', () => {
    expect(invitationLink('a b+c', 'https://chat.example')).toBe('https://chat.example/register?invite=a%20b%2Bc');
  });
});

describe('InvitationsSection', () => {
  const page = (items = invitations) => json(200, { items, next_cursor: null, can_create: true });

  it('lists the invitations with their state', async () => {
    await renderSettings('/settings/invitations', { 'GET /invitations': () => page() });
    const list = await screen.findByRole('list', { name: 'Your invitations' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows.map((r) => r.querySelector('.status-pill')?.textContent)).toEqual(['Pending', 'Accepted', 'Expired']);
    expect(within(rows[1]!).getByText('Anyone with the link')).toBeTruthy();
  });

  it('creates one and shows its link once', async () => {
    const { calls } = await renderSettings('/settings/invitations', {
      'GET /invitations': () => page(),
      'POST /invitations': () => json(201, { id: 'i9', code: 'TheCode123', expires_at: iso(now + 48 * 3600e3) }),
    });
    await screen.findByRole('list', { name: 'Your invitations' });
    await userEvent.type(screen.getByLabelText('Email'), 'dee@example.com');
    const hours = screen.getByLabelText('Expires after (hours)');
    await userEvent.clear(hours);
    await userEvent.type(hours, '48');
    await userEvent.click(screen.getByRole('button', { name: 'Create invitation' }));
    const link = (await screen.findByLabelText('Invitation link')) as HTMLInputElement;
    expect(link.value).toBe(`${window.location.origin}/register?invite=TheCode123`);
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ email: 'dee@example.com', expires_in_hours: 48 });
    expect(screen.getByRole('button', { name: 'Copy' })).toBeTruthy();
  });

  it('checks the hours before sending and shows the server’s field errors', async () => {
    const { calls } = await renderSettings('/settings/invitations', {
      'GET /invitations': () => page([]),
      'POST /invitations': () => problem(422, 'validation_failed', [{ field: 'email', message: 'must be an e-mail address' }]),
    });
    const hours = await screen.findByLabelText('Expires after (hours)');
    await userEvent.clear(hours);
    await userEvent.type(hours, '9999');
    await userEvent.click(screen.getByRole('button', { name: 'Create invitation' }));
    expect(await screen.findByText('Expires after must be a whole number of hours from 1 to 720.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    await userEvent.clear(hours);
    await userEvent.type(hours, '5');
    await userEvent.type(screen.getByLabelText('Email'), 'x@y');
    await userEvent.click(screen.getByRole('button', { name: 'Create invitation' }));
    expect(await screen.findByText('Email must be an e-mail address')).toBeTruthy();
  });

  it('deletes one after a confirmation', async () => {
    const { calls } = await renderSettings('/settings/invitations', {
      'GET /invitations': () => page(),
      'DELETE /invitations/i1': () => json(204),
    });
    const list = await screen.findByRole('list', { name: 'Your invitations' });
    await userEvent.click(within(within(list).getAllByRole('listitem')[0]!).getByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this invitation?' });
    expect(dialog.textContent).toContain('AbCd…');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Invitation AbCd… deleted.')).toBeTruthy();
    expect(within(list).getAllByRole('listitem')).toHaveLength(2);
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/invitations/i1')).toBe(true);
  });
});
