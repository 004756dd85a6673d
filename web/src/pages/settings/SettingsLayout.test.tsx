import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderSettings } from './testkit';

describe('SettingsLayout', () => {
  it('sends /settings to the profile and names its sections in a navigation', async () => {
    const { location } = await renderSettings('/settings', {});
    await screen.findByRole('heading', { level: 2, name: 'Profile' });
    expect(location.current).toBe('/settings/profile');
    const nav = screen.getByRole('navigation', { name: 'Settings' });
    const links = within(nav).getAllByRole('link').map((a) => a.textContent);
    expect(links).toEqual(['Profile', 'Security', 'Sessions', 'API keys', 'Usage']);
    expect(within(nav).getByRole('link', { name: 'Profile' }).getAttribute('aria-current')).toBe('page');
    expect(document.title).toBe('Profile · Settings · chatd');
  });

  it('shows Invitations only to a user who may create them', async () => {
    await renderSettings('/settings/invitations', {
      'GET /invitations': () => json(200, { items: [], next_cursor: null, can_create: true }),
    });
    const nav = screen.getByRole('navigation', { name: 'Settings' });
    await within(nav).findByRole('link', { name: 'Invitations' });
    await screen.findByRole('heading', { level: 2, name: 'Invitations' });
  });

  it('sends a user who may not invite from /settings/invitations to the profile', async () => {
    const { location } = await renderSettings('/settings/invitations', {});
    await screen.findByRole('heading', { level: 2, name: 'Profile' });
    expect(location.current).toBe('/settings/profile');
    expect(screen.queryByRole('link', { name: 'Invitations' })).toBeNull();
  });

  it('moves the focus to the heading of the section the user goes to', async () => {
    await renderSettings('/settings/profile', {});
    const heading = await screen.findByRole('heading', { level: 2, name: 'Profile' });
    expect(document.activeElement).not.toBe(heading); // not on the first section
    await userEvent.click(screen.getByRole('link', { name: 'Security' }));
    const security = await screen.findByRole('heading', { level: 2, name: 'Security' });
    await vi.waitFor(() => expect(document.activeElement).toBe(security));
    expect(document.title).toBe('Security · Settings · chatd');
  });
});

describe('ProfileSection', () => {
  it('shows the account and reads it again from /auth/me', async () => {
    const { calls, session } = await renderSettings('/settings/profile', {
      'GET /auth/me': () =>
        json(200, {
          user: {
            id: 'u1',
            email: 'ann@example.com',
            username: 'ann',
            email_verified: true,
            roles: ['user', 'admin'],
            totp_enabled: true,
            created_at: '2025-01-02T10:00:00Z',
            last_login_at: '2025-03-04T08:30:00Z',
          },
        }),
    });
    await screen.findByText('user, admin');
    expect(calls.some((c) => c.path === '/auth/me')).toBe(true);
    expect(session.getState().user?.totp_enabled).toBe(true);
    const facts = screen.getByText('ann@example.com').closest('dl')!;
    const text = facts.textContent ?? '';
    expect(text).toContain('ann');
    expect(text).toContain('E-mail confirmed');
    expect(text).toContain('Yes');
    expect(text).toContain('Member since');
    expect(text).toContain('Last sign-in');
    expect(text).toContain(new Date('2025-01-02T10:00:00Z').getFullYear().toString());
  });

  it('chooses the theme', async () => {
    await renderSettings('/settings/profile', {});
    await userEvent.click(await screen.findByRole('radio', { name: 'Dark' }));
    expect(document.documentElement.getAttribute('data-theme')).toBe('dark');
    await userEvent.click(screen.getByRole('radio', { name: 'System' }));
    expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
  });
});
