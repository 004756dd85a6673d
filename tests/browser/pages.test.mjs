// Every page of the UI loads under the page's Content-Security-Policy with no violation, no
// console error and no request to another origin (the per-page checks of withPage), and
// shows what it is for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Stack,
  button,
  field,
  screenshot,
  sendMessage,
  signIn,
  startForFile,
  waitForAnswerDone,
  waitForPath,
  withPage,
} from './lib/harness.mjs';
import { SmtpSink } from './lib/smtp_sink.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

// Opens `path` as a navigation and checks the answer's policy.
async function visit(page, path) {
  const res = await page.goto(path);
  assert.equal(res.status(), 200, path);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'/, `${path}: the SPA's policy`);
  assert.doesNotMatch(csp, /unsafe-eval/, path);
  await page.waitForLoadState('networkidle');
}

test('the signed-out pages', { timeout: 90000 }, async () => {
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    await visit(page, '/login');
    await field(page, 'Email or username').waitFor();
    await field(page, 'Password').waitFor();
    await button(page, 'Sign in').waitFor();
    await screenshot(page, 'sign-in');

    await visit(page, '/register');
    for (const name of ['Email', 'Username', 'Password']) await field(page, name).waitFor();
    await button(page, 'Create account').waitFor();
    await screenshot(page, 'register');

    await visit(page, '/forgot');
    await field(page, 'Email').waitFor();
    await button(page, 'Send reset link').waitFor();

    await visit(page, '/reset');
    await visit(page, '/verify');
    await visit(page, '/no-such-page');
  }, { name: 'pages-signed-out' });
});

test('the e-mailed links: verification and reset', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const other = `${user.username}x@example.com`;
  await stack.apiOk('POST', '/auth/register', { email: other, username: `${user.username}x`, password: user.password });
  await withPage(browser, stack, {}, async ({ page }) => {
    const verifyLink = SmtpSink.linkIn(await stack.smtp.waitFor(other));
    const confirmed = page.waitForResponse((r) => r.url().endsWith('/auth/email/verify/confirm'));
    await visit(page, verifyLink);
    assert.equal((await confirmed).status(), 200);

    await stack.apiOk('POST', '/auth/password-reset/request', { email: user.email });
    const resetLink = SmtpSink.linkIn(await stack.smtp.waitFor(user.email, { count: 2 }));
    await visit(page, resetLink);
    await field(page, 'New password').waitFor();
    await button(page, 'Set new password').waitFor();
    // The same form under the SPA's own path.
    await visit(page, `/reset?token=${encodeURIComponent(new URL(resetLink).searchParams.get('token'))}`);
    await field(page, 'New password').waitFor();
  }, { name: 'pages-links' });
});

test('the signed-in pages: chat, a conversation, settings', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    await signIn(page, user.username, user.password);
    await visit(page, '/');
    await field(page, 'Message').waitFor();
    await field(page, 'Search conversations').waitFor();
    await field(page, 'Model').waitFor();
    await waitForAnswerDone(page, await sendMessage(page, 'a conversation to open'));
    await waitForPath(page, /^\/chat\//);
    await visit(page, new URL(page.url()).pathname);
    await page.getByRole('article', { name: 'You', exact: true }).waitFor();
    await page.getByRole('article', { name: 'Assistant', exact: true }).waitFor();

    await button(page, 'Account').click();
    await page.getByRole('menuitem', { name: 'Settings', exact: true }).click();
    await waitForPath(page, '/settings/profile');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    assert.ok((await page.getByText(user.email, { exact: true }).count()) >= 1, 'the account is shown');
    await screenshot(page, 'settings');
    await visit(page, '/settings');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
  }, { name: 'pages-signed-in' });
});
