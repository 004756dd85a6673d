// Signing in to an account with two-step verification: the password, then a one-time code
// (RFC 6238, computed here) or a recovery code in the same field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stack, button, field, pathOf, startForFile, waitForPath, withPage } from './lib/harness.mjs';
import { codeAt, safeStep } from './lib/totp.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

// A verified user with 2FA on: {user, secret, recoveryCodes, step} (step: the one spent to enable it).
async function userWith2fa() {
  const user = await stack.registerVerified();
  const { access_token: token } = await stack.login(user);
  const setup = await stack.apiOk('POST', '/auth/2fa/setup', undefined, { token });
  const step = await safeStep();
  const { recovery_codes: recoveryCodes } = await stack.apiOk('POST', '/auth/2fa/verify', { code: codeAt(setup.secret, step) }, { token });
  assert.equal(recoveryCodes.length, 10);
  return { user, secret: setup.secret, recoveryCodes, step };
}

// Sign in with the password; the page must then ask for the one-time code.
async function passwordStep(page, watch, user) {
  // otp_required is a 401 answer, which Chromium itself logs as a failed resource load.
  watch.allowConsoleError(/Failed to load resource: the server responded with a status of 401/);
  await page.goto('/login');
  await field(page, 'Email or username').fill(user.username);
  await field(page, 'Password').fill(user.password);
  await button(page, 'Sign in').click();
  await field(page, 'One-time code').waitFor();
  assert.equal(pathOf(page), '/login', 'still signing in');
}

test('sign in with a one-time code after the password', { timeout: 90000 }, async () => {
  const { user, secret, step } = await userWith2fa();
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await passwordStep(page, watch, user);
    // A wrong code is refused and the step stays.
    const wrong = codeAt(secret, step + 1) === '000000' ? '111111' : '000000';
    await field(page, 'One-time code').fill(wrong);
    await button(page, 'Verify').click();
    await page.getByRole('alert').or(page.locator('[aria-invalid="true"]')).first().waitFor();
    assert.equal(pathOf(page), '/login');
    // The step spent on enabling 2FA is refused; the next one (one step of clock skew) works.
    await field(page, 'One-time code').fill(codeAt(secret, step + 1));
    await button(page, 'Verify').click();
    await waitForPath(page, '/');
    await button(page, 'New chat').waitFor();
    await button(page, 'Account').waitFor();
  }, { name: '2fa-code' });
});

test('sign in with a recovery code in the one-time code field', { timeout: 90000 }, async () => {
  const { user, recoveryCodes } = await userWith2fa();
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await passwordStep(page, watch, user);
    await field(page, 'One-time code').fill(recoveryCodes[3]);
    await button(page, 'Verify').click();
    await waitForPath(page, '/');
    await button(page, 'New chat').waitFor();
  }, { name: '2fa-recovery' });
  // The recovery code was spent by the browser's sign-in.
  const again = await stack.api('POST', '/auth/login', { login: user.username, password: user.password, otp: recoveryCodes[3] });
  assert.equal(again.status, 401);
  assert.equal(again.body.code, 'invalid_otp');
});
