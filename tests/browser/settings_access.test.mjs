// Settings: what lets in, and what stops letting in. A session revoked in the page is refused
// by the API at once; an API key made in the page works through its own ready-to-paste
// examples and is refused once deleted; an invitation made in the page registers an account,
// and a deleted one's code stops working.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  MODEL,
  PASSWORD,
  Stack,
  button,
  createAdmin,
  eventually,
  field,
  openPage,
  screenshot,
  signIn,
  startForFile,
  uniqueName,
  waitForPath,
  withPage,
} from './lib/harness.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

const failed401 = /Failed to load resource: the server responded with a status of 401/;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

const settingsLink = (page, name) =>
  page.getByRole('navigation', { name: 'Settings', exact: true }).getByRole('link', { name, exact: true });

// The bearer token of the last API request a page made.
function lastAccessToken(watch) {
  for (const r of [...watch.responses].reverse()) {
    const auth = r.headers['authorization'];
    if (auth && auth.startsWith('Bearer ')) return auth.slice(7);
  }
  return null;
}

test('sessions: each named by its device; one revoked in the page is refused at once; revoking this device signs out', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  // A program signed in with curl.
  const fromCurl = await stack.api('POST', '/auth/login', { login: user.username, password: user.password }, { headers: { 'User-Agent': 'curl/8.5.0' } });
  assert.equal(fromCurl.status, 200);
  const curlToken = fromCurl.body.access_token;
  // Another browser, Firefox by its user agent.
  const firefox = await openPage(browser, stack, { userAgent: FIREFOX });
  firefox.watch.allowConsoleError(failed401);
  try {
    await signIn(firefox.page, user.username, user.password);
    // The chat's first requests (models, conversations) carry the token; they may still be
    // on their way when the page shows its message box.
    const firefoxToken = await eventually(() => lastAccessToken(firefox.watch), {
      message: 'the Firefox page sent its access token',
    });
    assert.equal((await stack.api('GET', '/auth/me', undefined, { token: firefoxToken })).status, 200);

    await withPage(browser, stack, {}, async ({ page }) => {
      await signIn(page, user.username, user.password);
      await page.goto('/settings/sessions');
      const list = page.getByRole('list', { name: 'Active sessions', exact: true });
      const row = (device) => list.getByRole('listitem', { name: device, exact: true });
      await row('curl').waitFor();
      await row('Firefox on Linux').waitFor();
      // This browser (headless Chromium says Chrome) comes first and is marked.
      const first = list.getByRole('listitem').first();
      assert.match(await first.innerText(), /^Chrome on Linux\s+This device/);
      assert.equal(await list.getByText('This device', { exact: true }).count(), 1);
      assert.match(await row('curl').innerText(), /IP address:?\s*127\.0\.0\.1/);
      await screenshot(page, 'settings-sessions-three');

      await button(row('curl'), 'Revoke').click();
      await page.getByText('Signed out: curl.', { exact: true }).waitFor();
      assert.equal(await row('curl').count(), 0);
      assert.equal((await stack.api('GET', '/auth/me', undefined, { token: curlToken })).status, 401, 'the revoked token is refused at once');

      await button(row('Firefox on Linux'), 'Revoke').click();
      await page.getByText('Signed out: Firefox on Linux.', { exact: true }).waitFor();
      assert.equal((await stack.api('GET', '/auth/me', undefined, { token: firefoxToken })).status, 401);

      // Revoking this device asks first, then signs out.
      await button(first, 'Revoke').click();
      const dialog = page.getByRole('dialog', { name: 'Sign out of this device?' });
      await dialog.waitFor();
      await screenshot(page, 'settings-sessions-confirm');
      await button(dialog, 'Confirm').click();
      await waitForPath(page, '/login');
    }, { name: 'settings-sessions' });

    // The Firefox page finds out on its next load.
    await firefox.page.reload();
    await waitForPath(firefox.page, '/login');
    firefox.watch.assertClean();
  } finally {
    await firefox.context.close();
  }
  const left = await stack.login(user);
  const { items } = await stack.apiOk('GET', '/auth/sessions', undefined, { token: left.access_token });
  assert.equal(items.length, 1, 'only the session just made is left');
});

// Creates an API key in the page (settings open); returns its value and the page's examples.
async function createKey(page, name, expires) {
  await page.goto('/settings/api-keys');
  await field(page, 'Name').fill(name);
  await field(page, 'Expires').selectOption({ label: expires });
  await button(page, 'Create API key').click();
  const key = await field(page, 'Your new API key').inputValue();
  assert.ok(key.length >= 20, key);
  const examples = {};
  for (const [tab, id] of [['curl', 'curl'], ['Python', 'python'], ['JavaScript', 'javascript']]) {
    await page.getByRole('tab', { name: tab, exact: true }).click();
    examples[id] = await page.getByRole('tabpanel').locator('pre').innerText();
  }
  return { key, examples };
}

test('an API key made in the page works with /v1 through its curl example, and is refused once deleted', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, { permissions: ['clipboard-read', 'clipboard-write'] }, async ({ page }) => {
    await signIn(page, user.username, user.password);
    const { key, examples } = await createKey(page, 'browser test', 'In 30 days');
    await page.getByText(`${stack.baseURL}/v1`, { exact: true }).waitFor();
    // Copy puts the key on the clipboard and says so.
    await button(page, 'Copy').click();
    await page.getByText('Copied to the clipboard.', { exact: true }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key);
    assert.ok(examples.curl.includes(key) && examples.python.includes(key) && examples.javascript.includes(key));
    assert.ok(examples.python.includes(`OpenAI(\n    base_url="${stack.baseURL}/v1",\n    api_key="${key}",\n)`), examples.python);
    assert.ok(examples.javascript.includes(`new OpenAI({\n  baseURL: "${stack.baseURL}/v1",\n  apiKey: "${key}",\n})`), examples.javascript);
    await page.getByRole('tab', { name: 'Python', exact: true }).click();
    await screenshot(page, 'settings-api-key-created', { fullPage: true });

    // The curl example, pasted into a shell as it is.
    const { stdout } = await run('bash', ['-c', examples.curl], { timeout: 30000 });
    const answer = JSON.parse(stdout);
    assert.equal(answer.object, 'chat.completion', stdout);
    assert.ok(answer.choices[0].message.content.length > 0, stdout);
    assert.equal(answer.model, MODEL);

    // Listed with its expiry in 30 days.
    const { access_token: token } = await stack.login(user);
    const listed = (await stack.apiOk('GET', '/api-keys', undefined, { token })).items.find((k) => k.name === 'browser test');
    const days = (Date.parse(listed.expires_at) - Date.now()) / 86400000;
    assert.ok(days > 29.9 && days <= 30, listed.expires_at);
    assert.ok(key.startsWith(listed.prefix), `${listed.prefix} is the key's start`);
    await button(page, 'Done').click();
    const row = page.getByRole('list', { name: 'Your API keys', exact: true }).getByRole('listitem', { name: 'browser test', exact: true });
    await row.getByText(`${listed.prefix}…`, { exact: true }).waitFor();

    // Deleted after a confirmation: refused at once.
    await button(row, 'Delete').click();
    const dialog = page.getByRole('dialog', { name: 'Delete the API key “browser test”?' });
    await dialog.waitFor();
    await button(dialog, 'Confirm').click();
    await page.getByText('API key “browser test” deleted.', { exact: true }).waitFor();
    assert.equal(await row.count(), 0);
    const refused = await fetch(`${stack.baseURL}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(refused.status, 401);
    assert.ok((await refused.json()).error, 'OpenAI’s error shape');
  }, { name: 'settings-api-key' });
});

test('the JavaScript example of a new API key runs with the official openai client', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    const { examples } = await createKey(page, 'javascript', 'Never');
    // The official `openai` npm package (pinned in this folder's package.json), the example
    // run as pasted: an ES module, resolved from here.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', examples.javascript], {
      timeout: 60000,
      cwd: here,
    });
    assert.ok(stdout.trim().length > 0, 'the answer is printed');
    // The Python example is the same call for the Python client: valid Python, same key and URL.
    await run('python3', ['-c', 'import ast, sys; ast.parse(sys.argv[1])', examples.python], { timeout: 30000 });
  }, { name: 'settings-api-key-javascript' });
});

test('an invitation made in the page registers an account; a deleted one stops working', { timeout: 120000 }, async () => {
  // Registration by invitation only, so that a code that stops working shows.
  const closed = await Stack.start({ CHATD_REGISTRATION: 'invite_only' });
  try {
    const admin = await createAdmin(closed);
    let link;
    let deletedLink;
    await withPage(browser, closed, {}, async ({ page }) => {
      await signIn(page, admin.username, admin.password);
      await page.goto('/settings/profile');
      await settingsLink(page, 'Invitations').click();
      await button(page, 'Create invitation').waitFor();
      await field(page, 'Expires after (hours)').fill('24');
      await button(page, 'Create invitation').click();
      link = await field(page, 'Invitation link').inputValue();
      assert.match(link, new RegExp(`^${closed.baseURL}/register\\?invite=[^&]+$`));
      await screenshot(page, 'settings-invitation-created');
      await page.getByRole('button', { name: 'Done', exact: true }).click();

      // A second one, deleted.
      await field(page, 'Email').fill('nobody@example.com');
      await button(page, 'Create invitation').click();
      deletedLink = await field(page, 'Invitation link').inputValue();
      await page.getByRole('button', { name: 'Done', exact: true }).click();
      const list = page.getByRole('list', { name: 'Your invitations', exact: true });
      const row = list.getByRole('listitem').filter({ hasText: 'nobody@example.com' });
      assert.equal(await row.locator('.status-pill').innerText(), 'Pending');
      await button(row, 'Delete').click();
      const dialog = page.getByRole('dialog', { name: 'Delete this invitation?' });
      await button(dialog, 'Confirm').click();
      await page.getByText(/^Invitation .+… deleted\.$/).waitFor();
      assert.equal(await row.count(), 0);
    }, { name: 'settings-invitations' });

    // The link opens the registration page with the code filled in; the account is made.
    const username = uniqueName('inv');
    await withPage(browser, closed, {}, async ({ page }) => {
      await page.goto(link);
      assert.equal(await field(page, 'Invitation code').inputValue(), new URL(link).searchParams.get('invite'));
      await field(page, 'Email').fill(`${username}@example.com`);
      await field(page, 'Username').fill(username);
      await field(page, 'Password').fill(PASSWORD);
      const registered = page.waitForResponse((r) => r.url().endsWith('/auth/register') && r.request().method() === 'POST');
      await button(page, 'Create account').click();
      assert.equal((await registered).status(), 201);
      await page.getByRole('heading', { name: 'Check your e-mail' }).waitFor();
    }, { name: 'settings-invitation-register' });

    // The deleted invitation's code is refused.
    const refused = await closed.api('POST', '/auth/register', {
      email: `${username}x@example.com`,
      username: `${username}x`,
      password: PASSWORD,
      invite_code: new URL(deletedLink).searchParams.get('invite'),
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));

    // The inviter sees it accepted.
    await withPage(browser, closed, {}, async ({ page }) => {
      await signIn(page, admin.username, admin.password);
      await page.goto('/settings/invitations');
      const list = page.getByRole('list', { name: 'Your invitations', exact: true });
      await list.waitFor();
      const pills = await list.locator('.status-pill').allInnerTexts();
      assert.deepEqual(pills, ['Accepted']);
      await screenshot(page, 'settings-invitation-accepted');
    }, { name: 'settings-invitation-accepted' });
  } finally {
    await closed.stop();
  }
});
