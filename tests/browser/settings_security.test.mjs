// Settings, Security: changing the password ends the other sessions; two-factor
// authentication set up in the page (the secret read from it, codes computed here from the
// RFC), its recovery codes downloaded and used, set up again with the keyboard alone, and
// turned off.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  PASSWORD2,
  Stack,
  button,
  field,
  openPage,
  pathOf,
  screenshot,
  signIn,
  startForFile,
  waitForPath,
  withPage,
} from './lib/harness.mjs';
import { codeAt, safeStep } from './lib/totp.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

// Chromium logs every 401 answer as a failed resource load: expected where a password or a
// code is wrong on purpose, or a revoked session is refused.
const failed401 = /Failed to load resource: the server responded with a status of 401/;

// Sign-in with the password, then the one-time code step with `otp`.
async function signInWithOtp(page, watch, user, otp) {
  watch.allowConsoleError(failed401); // otp_required
  await page.goto('/login');
  await field(page, 'Email or username').fill(user.username);
  await field(page, 'Password').fill(user.password);
  await button(page, 'Sign in').click();
  await field(page, 'One-time code').fill(otp);
  await button(page, 'Verify').click();
  await waitForPath(page, '/');
  await field(page, 'Message').waitFor();
}

// The recovery codes of the downloaded file: the lines after the blank one, up to the end.
function codesInFile(text) {
  return text
    .split('\n')
    .slice(text.split('\n').indexOf('') + 1)
    .map((s) => s.trim())
    .filter(Boolean);
}

// Presses Tab until the focused element matches `wanted` ({tag, name}); returns it.
async function tabTo(page, wanted, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const here = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return null;
      const label = el.labels?.[0]?.textContent ?? el.getAttribute('aria-label') ?? el.textContent;
      return { tag: el.tagName.toLowerCase(), name: (label ?? '').trim() };
    });
    if (here && here.tag === wanted.tag && here.name === wanted.name) return here;
  }
  throw new Error(`Tab never reached ${wanted.tag} "${wanted.name}"`);
}

test('changing the password: a wrong current one is shown at its field, the right one ends the other sessions', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const other = await openPage(browser, stack);
  other.watch.allowConsoleError(failed401); // its session is refused below
  try {
    await signIn(other.page, user.username, user.password);
    await withPage(browser, stack, {}, async ({ page, watch }) => {
      watch.allowConsoleError(failed401); // the wrong current password
      await signIn(page, user.username, user.password);
      await page.goto('/settings/security');
      await field(page, 'Current password').fill('not the password at all');
      await field(page, 'New password').fill(PASSWORD2);
      await button(page, 'Change password').click();
      await page.getByText('This is not your current password.', { exact: true }).waitFor();
      assert.equal(await field(page, 'Current password').getAttribute('aria-invalid'), 'true');
      assert.ok(await field(page, 'Current password').evaluate((el) => el === document.activeElement), 'focus on the field');
      assert.equal(pathOf(page), '/settings/security', 'still signed in');

      await field(page, 'Current password').fill(user.password);
      await button(page, 'Change password').click();
      await page.getByText(/Your password is changed\. Every other session of your account was signed out/).waitFor();
      assert.equal(await field(page, 'Current password').inputValue(), '');
      await screenshot(page, 'settings-password-changed');

      // This session goes on: its list of sessions loads and holds only this device.
      await page.getByRole('navigation', { name: 'Settings', exact: true }).getByRole('link', { name: 'Sessions', exact: true }).click();
      await button(page, 'Revoke').first().waitFor();
      assert.equal(await button(page, 'Revoke').count(), 1);
      await page.getByText('This device', { exact: true }).waitFor();
    }, { name: 'settings-password' });

    // The other browser's session is refused: on its next load, its refresh is answered 401
    // and it is at the sign-in page.
    await other.page.reload();
    await waitForPath(other.page, '/login');
    const refreshes = other.watch.responses.filter((r) => r.method === 'POST' && r.url.endsWith('/auth/refresh'));
    assert.equal(refreshes.at(-1)?.status, 401, JSON.stringify(refreshes));
    other.watch.assertClean();
  } finally {
    await other.context.close();
  }
  assert.equal((await stack.api('POST', '/auth/login', { login: user.username, password: user.password })).status, 401);
  assert.equal((await stack.api('POST', '/auth/login', { login: user.username, password: PASSWORD2 })).status, 200);
});

test('two-factor authentication set up in the page; a computed code and a downloaded recovery code sign in; then turned off', { timeout: 120000 }, async () => {
  const user = await stack.registerVerified();
  let secret;
  let step;
  let codes;
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    await page.goto('/settings/security');
    await button(page, 'Enable two-factor authentication').click();

    // The QR code is a data: image (the CSP allows it) that loaded.
    const qr = page.getByRole('img', { name: 'QR code', exact: true });
    await qr.waitFor();
    assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code is drawn');
    secret = await field(page, 'Setup key').inputValue();
    assert.match(secret, /^[A-Z2-7]{16,}=*$/);
    await screenshot(page, 'settings-2fa-setup', { fullPage: true });

    step = await safeStep();
    await field(page, 'Code').fill(codeAt(secret, step));
    await button(page, 'Verify').click();
    const list = page.getByRole('list', { name: 'Recovery codes', exact: true });
    await list.waitFor();
    const shown = (await list.getByRole('listitem').allInnerTexts()).map((s) => s.trim());
    assert.equal(shown.length, 10);
    await page.getByText(/will not be shown again/).waitFor();
    await screenshot(page, 'settings-2fa-recovery-codes', { fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), button(page, 'Download recovery codes').click()]);
    assert.equal(download.suggestedFilename(), 'chatd-recovery-codes.txt');
    codes = codesInFile(fs.readFileSync(await download.path(), 'utf8'));
    assert.equal(codes.length, 10, `ten codes in the file: ${JSON.stringify(codes)}`);
    assert.deepEqual(codes, shown);

    await page.getByRole('button', { name: 'I have saved them', exact: true }).click();
    await page.getByText('Two-factor authentication is on.', { exact: true }).waitFor();
    await button(page, 'Disable two-factor authentication').waitFor();
    assert.equal(await list.count(), 0, 'the codes are gone from the page');
    // The session's user knows it too.
    await page.getByRole('link', { name: 'Profile', exact: true }).click();
    const row = page.locator('.settings-facts dt', { hasText: 'Two-factor authentication' });
    assert.equal(await row.locator('xpath=following-sibling::dd[1]').innerText(), 'On');
  }, { name: 'settings-2fa' });

  // The password alone no longer signs in; a current code does, in a fresh browser.
  const bare = await stack.api('POST', '/auth/login', { login: user.username, password: user.password });
  assert.equal(bare.body.code, 'otp_required');
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    // The step used to enable it was spent; the next one is within the allowed skew.
    await signInWithOtp(page, watch, user, codeAt(secret, step + 1));
  }, { name: 'settings-2fa-code' });
  // And a recovery code from the downloaded file, in another.
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await signInWithOtp(page, watch, user, codes[4]);

    // Turned off with the password and another recovery code.
    await page.goto('/settings/security');
    await field(page, 'Password').fill(user.password);
    await field(page, 'Code').fill(codes[7]);
    await button(page, 'Disable two-factor authentication').click();
    await page.getByText('Two-factor authentication is off.', { exact: true }).waitFor();
    await button(page, 'Enable two-factor authentication').waitFor();
  }, { name: 'settings-2fa-recovery' });
  assert.equal((await stack.api('POST', '/auth/login', { login: user.username, password: user.password })).status, 200);
});

test('two-factor authentication set up with the keyboard alone', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page }) => {
    // Sign in: the first field has the focus.
    await page.goto('/login');
    await field(page, 'Email or username').waitFor();
    await page.keyboard.type(user.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await waitForPath(page, '/');
    await field(page, 'Message').waitFor();

    await page.goto('/settings/profile');
    await page.getByRole('heading', { level: 2, name: 'Profile', exact: true }).waitFor();
    await tabTo(page, { tag: 'a', name: 'Security' });
    await page.keyboard.press('Enter');
    await waitForPath(page, '/settings/security');
    // The section's heading takes the focus.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Security');

    await tabTo(page, { tag: 'button', name: 'Enable two-factor authentication' });
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(ring, 'none', 'the focused button shows the focus ring');
    await page.keyboard.press('Enter');
    await page.getByRole('img', { name: 'QR code', exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Set up your authenticator app');

    const secret = await field(page, 'Setup key').inputValue();
    await tabTo(page, { tag: 'input', name: 'Code' });
    await page.keyboard.type(codeAt(secret, await safeStep()));
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Recovery codes', exact: true }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Save your recovery codes');

    await tabTo(page, { tag: 'button', name: 'Download recovery codes' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.equal(codesInFile(fs.readFileSync(await download.path(), 'utf8')).length, 10);
    await tabTo(page, { tag: 'button', name: 'I have saved them' });
    await page.keyboard.press('Enter');
    await page.getByText('Two-factor authentication is on.', { exact: true }).waitFor();
  }, { name: 'settings-2fa-keyboard' });
  const bare = await stack.api('POST', '/auth/login', { login: user.username, password: user.password });
  assert.equal(bare.status, 401);
  assert.equal(bare.body.code, 'otp_required');
});
