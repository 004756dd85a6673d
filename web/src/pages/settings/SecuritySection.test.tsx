import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, problem, renderSettings, testUser } from './testkit';

const codes = Array.from({ length: 10 }, (_, i) => `abcde-${String(i).padStart(5, '0')}`);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('change password', () => {
  it('says that the other sessions were signed out', async () => {
    const { calls } = await renderSettings('/settings/security', {
      'POST /auth/password/change': () => json(204),
    });
    await userEvent.type(await screen.findByLabelText('Current password'), 'old passphrase!');
    await userEvent.type(screen.getByLabelText('New password'), 'a brand new passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText(/Every other session of your account was signed out/)).toBeTruthy();
    expect(calls.find((c) => c.path === '/auth/password/change')?.body).toEqual({
      current_password: 'old passphrase!',
      new_password: 'a brand new passphrase',
    });
    expect((screen.getByLabelText('Current password') as HTMLInputElement).value).toBe('');
  });

  it('shows a wrong current password at its field, and the session goes on', async () => {
    const { calls, session } = await renderSettings('/settings/security', {
      'POST /auth/password/change': () => problem(401, 'invalid_credentials'),
    });
    const current = await screen.findByLabelText('Current password');
    await userEvent.type(current, 'not my password');
    await userEvent.type(screen.getByLabelText('New password'), 'a brand new passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('This is not your current password.')).toBeTruthy();
    expect(current.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(current);
    // A 401 about the password is no reason to refresh the token, nor to end the session.
    expect(calls.filter((c) => c.path === '/auth/refresh')).toEqual([]);
    expect(calls.filter((c) => c.path === '/auth/password/change')).toHaveLength(1);
    expect(session.getState().status).toBe('signed-in');
  });

  it('shows the server’s field errors beside their fields', async () => {
    await renderSettings('/settings/security', {
      'POST /auth/password/change': () =>
        problem(422, 'validation_failed', [{ field: 'new_password', message: 'is too common' }]),
    });
    await userEvent.type(await screen.findByLabelText('Current password'), 'old passphrase!');
    const next = screen.getByLabelText('New password');
    await userEvent.type(next, 'password12345');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('New password is too common')).toBeTruthy();
    expect(next.getAttribute('aria-invalid')).toBe('true');
  });

  it('checks the length of the new password before sending it', async () => {
    const { calls } = await renderSettings('/settings/security', {});
    await userEvent.type(await screen.findByLabelText('Current password'), 'old passphrase!');
    await userEvent.type(screen.getByLabelText('New password'), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByText('Password must be 12 to 128 characters long.')).toBeTruthy();
    expect(calls.some((c) => c.path === '/auth/password/change')).toBe(false);
  });
});

describe('two-factor authentication', () => {
  it('sets up: QR code, key, a wrong then a right code, the recovery codes shown and downloaded', async () => {
    const blobs: Blob[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), 'blob:x'), revokeObjectURL: () => undefined }));
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    let enabled = false;
    const { calls, session } = await renderSettings('/settings/security', {
      'GET /auth/me': () => json(200, { user: { ...testUser, totp_enabled: enabled } }),
      'POST /auth/2fa/setup': () =>
        json(200, { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/x', qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' }),
      'POST /auth/2fa/verify': ({ body }) =>
        body?.['code'] === '123456' ? ((enabled = true), json(200, { recovery_codes: codes })) : problem(401, 'invalid_otp'),
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Enable two-factor authentication' }));
    const qr = await screen.findByRole('img', { name: 'QR code' });
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/);
    expect((screen.getByLabelText('Setup key') as HTMLInputElement).value).toBe('JBSWY3DPEHPK3PXP');
    expect(document.activeElement?.textContent).toBe('Set up your authenticator app');

    const code = screen.getByLabelText('Code');
    await userEvent.type(code, '654321');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByText('That code is not right, has expired or was already used.')).toBeTruthy();
    expect(session.getState().status).toBe('signed-in');

    await userEvent.clear(code);
    await userEvent.type(code, '123 456');
    await userEvent.click(screen.getByRole('button', { name: 'Verify' }));
    const list = await screen.findByRole('list', { name: 'Recovery codes' });
    expect(within(list).getAllByRole('listitem').map((li) => li.textContent)).toEqual(codes);
    expect(screen.getByText(/will not be shown again/)).toBeTruthy();
    expect(calls.filter((c) => c.path === '/auth/2fa/verify').map((c) => c.body)).toEqual([{ code: '654321' }, { code: '123456' }]);
    await vi.waitFor(() => expect(session.getState().user?.totp_enabled).toBe(true));

    await userEvent.click(screen.getByRole('button', { name: 'Download recovery codes' }));
    expect(click).toHaveBeenCalledTimes(1);
    expect(blobs).toHaveLength(1);
    const text = await blobs[0]!.text();
    for (const c of codes) expect(text.split('\n')).toContain(c);

    await userEvent.click(screen.getByRole('button', { name: 'I have saved them' }));
    expect(await screen.findByText('Two-factor authentication is on.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Disable two-factor authentication' })).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'Recovery codes' })).toBeNull();
  });

  it('disables with the password and a code; a wrong password is shown at its field', async () => {
    let enabled = true;
    const { session } = await renderSettings(
      '/settings/security',
      {
        'GET /auth/me': () => json(200, { user: { ...testUser, totp_enabled: enabled } }),
        'POST /auth/2fa/disable': ({ body }) =>
          body?.['password'] === 'right one' ? ((enabled = false), json(204)) : problem(401, 'invalid_credentials'),
      },
      { totp_enabled: true },
    );
    const password = await screen.findByLabelText('Password');
    await userEvent.type(password, 'wrong one');
    await userEvent.type(screen.getByLabelText('Code'), '123456');
    await userEvent.click(screen.getByRole('button', { name: 'Disable two-factor authentication' }));
    expect(await screen.findByText('This is not your password.')).toBeTruthy();
    expect(document.activeElement).toBe(password);
    expect(session.getState().status).toBe('signed-in');

    await userEvent.clear(password);
    await userEvent.type(password, 'right one');
    await userEvent.click(screen.getByRole('button', { name: 'Disable two-factor authentication' }));
    expect(await screen.findByText('Two-factor authentication is off.')).toBeTruthy();
    expect(await screen.findByRole('button', { name: 'Enable two-factor authentication' })).toBeTruthy();
    expect(session.getState().user?.totp_enabled).toBe(false);
  });
});
