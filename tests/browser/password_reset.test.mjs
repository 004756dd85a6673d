// A forgotten password: ask for the link, open it from the e-mail, choose a new password;
// the new one signs in, the old one no longer does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD2, Stack, button, field, pathOf, signIn, startForFile, withPage } from './lib/harness.mjs';
import { SmtpSink } from './lib/smtp_sink.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

test('reset the password from the e-mailed link', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const old = await stack.login(user); // a session that the reset must end
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await page.goto('/forgot');
    await field(page, 'Email').fill(user.email);
    const requested = page.waitForResponse((r) => r.url().endsWith('/auth/password-reset/request'));
    await button(page, 'Send reset link').click();
    assert.equal((await requested).status(), 202);

    // The second mail to this address (the first was the verification).
    const mail = await stack.smtp.waitFor(user.email, { count: 2 });
    const link = SmtpSink.linkIn(mail);
    assert.ok(link.startsWith(stack.baseURL + '/'), link);
    await page.goto(link);
    await field(page, 'New password').fill(PASSWORD2);
    const confirmed = page.waitForResponse((r) => r.url().endsWith('/auth/password-reset/confirm'));
    await button(page, 'Set new password').click();
    assert.equal((await confirmed).status(), 204);

    // The old password is refused, on the page.
    watch.allowConsoleError(/Failed to load resource: the server responded with a status of 401/);
    await page.goto('/login');
    await field(page, 'Email or username').fill(user.username);
    await field(page, 'Password').fill(user.password);
    const refused = page.waitForResponse((r) => r.url().endsWith('/auth/login'));
    await button(page, 'Sign in').click();
    const res = await refused;
    assert.equal(res.status(), 401);
    assert.equal((await res.json()).code, 'invalid_credentials');
    await page.getByRole('alert').waitFor();
    assert.equal(pathOf(page), '/login');

    // The new one works.
    await signIn(page, user.username, PASSWORD2);
  }, { name: 'password-reset' });
  // Every session from before the reset has ended.
  assert.equal((await stack.api('GET', '/auth/me', undefined, { token: old.access_token })).status, 401);
});
