// An invitation: its e-mailed link opens the registration page with the code filled in, and
// the account made there accepts the invitation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, Stack, button, field, startForFile, uniqueName, withPage } from './lib/harness.mjs';
import { SmtpSink } from './lib/smtp_sink.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

test('the invitation link fills in the code, and registering accepts the invitation', { timeout: 90000 }, async () => {
  const inviter = await stack.registerVerified();
  const token = (await stack.login(inviter)).access_token;
  const username = uniqueName('inv');
  const email = `${username}@example.com`;
  const invitation = await stack.apiOk('POST', '/invitations', { email }, { token });
  const link = SmtpSink.linkIn(await stack.smtp.waitFor(email));
  assert.ok(link.startsWith(stack.baseURL + '/register?'), link);

  await withPage(browser, stack, {}, async ({ page }) => {
    await page.goto(link);
    assert.equal(await field(page, 'Invitation code').inputValue(), invitation.code);
    await field(page, 'Email').fill(email);
    await field(page, 'Username').fill(username);
    await field(page, 'Password').fill(PASSWORD);
    const registered = page.waitForResponse((r) => r.url().endsWith('/auth/register') && r.request().method() === 'POST');
    await button(page, 'Create account').click();
    const res = await registered;
    assert.equal(res.status(), 201);
    assert.equal(JSON.parse(res.request().postData()).invite_code, invitation.code);
  });
  const mine = await stack.apiOk('GET', '/invitations', undefined, { token });
  const row = mine.items.find((i) => i.id === invitation.id);
  assert.ok(row?.accepted_at, JSON.stringify(mine));
});
