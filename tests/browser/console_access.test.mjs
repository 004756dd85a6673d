// The administration console is for administrators only: someone else sees no link to it,
// gets "Not allowed" at every console address, and chatd refuses them every /admin/ request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Stack, button, createAdmin, pathOf, screenshot, signIn, startForFile, withPage } from './lib/harness.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

const isAdminPath = (url) => /^\/admin(\/|$)/.test(new URL(url).pathname);

test('someone who is not an administrator has no way into the console', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const other = await stack.registerVerified();
  const token = (await stack.login(user)).access_token;
  const otherId = (await stack.apiOk('GET', '/auth/me', undefined, { token: (await stack.login(other)).access_token })).user.id;

  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await signIn(page, user.username, user.password);
    await button(page, 'Account').click();
    await page.getByRole('menuitem', { name: 'Settings', exact: true }).waitFor();
    assert.equal(await page.getByRole('menuitem', { name: 'Administration', exact: true }).count(), 0, 'no "Administration" in the menu');
    await page.keyboard.press('Escape');

    for (const path of ['/console', '/console/users', `/console/users/${otherId}`, '/console/audit', '/console/usage', '/console/keys']) {
      await page.goto(path);
      await page.getByRole('heading', { name: 'Not allowed', exact: true, level: 1 }).waitFor();
      assert.equal(pathOf(page), path, 'the address stays');
      assert.equal(await page.getByRole('navigation', { name: 'Administration', exact: true }).count(), 0);
      assert.equal(await page.title(), 'Not allowed · chatd');
    }
    await screenshot(page, 'console-not-allowed');
    await page.getByRole('link', { name: 'Back to the chat', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/');

    // The page asks chatd nothing of the console's; had it asked, it would have been refused.
    const admin = watch.responses.filter((r) => isAdminPath(r.url));
    assert.deepEqual(admin.filter((r) => r.status !== 403).map((r) => `${r.method} ${r.url} ${r.status}`), []);
    assert.deepEqual(admin, [], 'the console made no /admin/ request for a non-administrator');
  }, { name: 'console-access' });

  // chatd refuses them all the same.
  const refused = [];
  for (const [method, path, body] of [
    ['GET', '/admin/users'],
    ['GET', `/admin/users/${otherId}`],
    ['PATCH', `/admin/users/${otherId}`, { roles: ['user', 'admin'] }],
    ['POST', `/admin/users/${otherId}/sessions/revoke`],
    ['GET', '/admin/audit'],
    ['GET', '/admin/usage?group_by=day,model'],
    ['GET', '/admin/keys'],
    ['POST', '/auth/keys/rotate'],
  ]) {
    const res = await stack.api(method, path, body, { token });
    refused.push(`${method} ${path} ${res.status}`);
  }
  assert.deepEqual(refused, refused.map((r) => r.replace(/\d+$/, '403')));
});

test('an administrator finds "Administration" in the account menu', { timeout: 90000 }, async () => {
  const admin = await createAdmin(stack);
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, admin.username, admin.password);
    await button(page, 'Account').click();
    await page.getByRole('menuitem', { name: 'Administration', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/console/users');
    const nav = page.getByRole('navigation', { name: 'Administration', exact: true });
    const links = await nav.getByRole('link').allInnerTexts();
    assert.deepEqual(links, ['Users', 'Audit log', 'Usage', 'Signing keys']);
    await page.getByRole('heading', { name: 'Users', exact: true, level: 1 }).waitFor();
    assert.equal(await page.title(), 'Users · Administration · chatd');
  }, { name: 'console-link' });
});
