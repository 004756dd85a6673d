// The administration console, driven by an administrator (made with `chatd create-admin`):
// users (search, the administrator role, disable and enable with the user's open browser
// signed out by itself, unlock, revoke sessions), the audit log, usage charts and CSV files,
// and the signing keys. Every page is checked for CSP violations and console errors, and
// photographed in light, dark and on a phone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import {
  MODEL,
  OTHER_MODEL,
  Stack,
  button,
  createAdmin,
  eventually,
  field,
  launchBrowser,
  openPage,
  pathOf,
  screenshot,
  signIn,
  waitForPath,
  withPage,
} from './lib/harness.mjs';

const lockoutThreshold = 3;
let stack;
let browser;
let admin;
let adminToken;
before(async () => {
  stack = await Stack.start({ CHATD_LOCKOUT_THRESHOLD: String(lockoutThreshold) });
  browser = await launchBrowser();
  admin = await createAdmin(stack);
  adminToken = (await stack.login(admin)).access_token;
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Charts are drawn without animation, so that what is photographed is the finished chart.
const desktop = { reducedMotion: 'reduce', colorScheme: 'light' };

async function userId(username) {
  const page = await stack.apiOk('GET', `/admin/users?q=${encodeURIComponent(username)}`, undefined, { token: adminToken });
  const found = page.items.find((u) => u.username === username);
  assert.ok(found, `${username} is listed`);
  return found.id;
}

const adminUser = (id) => stack.apiOk('GET', `/admin/users/${id}`, undefined, { token: adminToken });

async function openConsole(page, path, heading) {
  await signIn(page, admin.username, admin.password);
  await page.goto(path);
  await page.getByRole('heading', { name: heading, exact: true, level: 1 }).waitFor();
}

// Confirms the pending action in its dialog and waits for the dialog to go.
async function confirm(page) {
  const dialog = page.getByRole('dialog');
  await button(dialog, 'Confirm').click();
  await dialog.waitFor({ state: 'detached' });
}

async function statusSays(page, text) {
  await page.getByRole('status').filter({ hasText: text }).waitFor();
}

// Two frames: what React and Chart.js do after a change of theme or size is on screen.
const frames = (page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));

// The section in light, dark and on a phone (no sideways scrolling there).
async function shoot(page, name) {
  const size = page.viewportSize();
  await page.emulateMedia({ colorScheme: 'light' });
  await frames(page);
  await screenshot(page, name, { fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await eventually(() => page.evaluate(() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'));
  await frames(page);
  await screenshot(page, `${name}-dark`, { fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 390, height: 844 });
  await eventually(() => page.evaluate(() => window.innerWidth === 390));
  await frames(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name}: no sideways scrolling on a phone (${overflow} px too wide)`);
  await screenshot(page, `${name}-phone`, { fullPage: true });
  await page.setViewportSize(size);
}

// RFC 4180: quoted fields with doubled quotes, CRLF between records.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let value = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        value += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        value += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(value);
      value = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(value);
      rows.push(row);
      row = [];
      value = '';
    } else {
      value += c;
    }
  }
  if (value !== '' || row.length > 0) {
    row.push(value);
    rows.push(row);
  }
  return rows;
}

async function download(page, scope) {
  const [file] = await Promise.all([page.waitForEvent('download'), button(scope, 'Export CSV').click()]);
  const text = fs.readFileSync(await file.path(), 'utf8');
  return { name: file.suggestedFilename(), rows: parseCsv(text) };
}

test('users: search, open one, grant and remove the administrator role', { timeout: 120000 }, async () => {
  const bob = await stack.registerVerified();
  const id = await userId(bob.username);
  await withPage(browser, stack, desktop, async ({ page }) => {
    await openConsole(page, '/console/users', 'Users');
    assert.equal(await page.title(), 'Users · Administration · chatd');
    const nav = page.getByRole('navigation', { name: 'Administration', exact: true });
    assert.equal(await nav.getByRole('link', { name: 'Users', exact: true }).getAttribute('aria-current'), 'page');

    // Search as you type: part of the name is enough.
    await field(page, 'Search users').fill(bob.username.slice(0, 8));
    await page.waitForURL((u) => u.searchParams.get('q') === bob.username.slice(0, 8));
    await eventually(async () => (await page.locator('tbody tr').count()) === 1, { message: 'one user matches' });
    await page.getByRole('link', { name: bob.username, exact: true }).waitFor();
    await field(page, 'Search users').fill('');
    await eventually(async () => (await page.locator('tbody tr').count()) >= 2, { message: 'everyone again' });
    await shoot(page, 'console-users');

    await field(page, 'Search users').fill(bob.username);
    await page.getByRole('link', { name: bob.username, exact: true }).click();
    await page.getByRole('heading', { name: bob.username, exact: true, level: 1 }).waitFor();
    assert.equal(pathOf(page), `/console/users/${id}`);

    const adminBox = page.getByRole('checkbox', { name: 'Administrator', exact: true });
    assert.equal(await adminBox.isChecked(), false);
    await adminBox.click();
    assert.match(await page.getByRole('dialog').innerText(), new RegExp(`Make ${bob.username} an administrator\\?`));
    await confirm(page);
    await statusSays(page, `${bob.username} is now an administrator.`);
    assert.equal(await adminBox.isChecked(), true);
    assert.deepEqual((await adminUser(id)).roles.sort(), ['admin', 'user']);
    await shoot(page, 'console-user');

    await adminBox.click();
    await confirm(page);
    await statusSays(page, `${bob.username} is no longer an administrator.`);
    assert.equal(await adminBox.isChecked(), false);
    assert.deepEqual((await adminUser(id)).roles, ['user']);
  }, { name: 'console-users' });
});

test('disabling a user signs their open browser out by itself; enabling lets them back in', { timeout: 120000 }, async () => {
  const carol = await stack.registerVerified();
  const id = await userId(carol.username);
  const victim = await openPage(browser, stack);
  // Her page's check of the session is refused (401), and so is its refresh.
  victim.watch.allowConsoleError(/Failed to load resource: the server responded with a status of 401/);
  try {
    await signIn(victim.page, carol.username, carol.password);

    await withPage(browser, stack, desktop, async ({ page }) => {
      await openConsole(page, `/console/users/${id}`, carol.username);
      await button(page, 'Disable account').click();
      await confirm(page);
      await statusSays(page, `The account of ${carol.username} is disabled and its sessions have ended.`);
      await button(page, 'Enable account').waitFor();
      await page.getByText('Disabled', { exact: true }).first().waitFor();
      assert.equal((await adminUser(id)).disabled, true);
      assert.equal((await stack.api('POST', '/auth/login', { login: carol.username, password: carol.password })).status, 403);

      // Her browser has done nothing since; it notices when its window gets the focus.
      assert.equal(pathOf(victim.page), '/');
      const checked = victim.page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/me');
      await victim.page.evaluate(() => window.dispatchEvent(new Event('focus')));
      assert.equal((await checked).status(), 401);
      await waitForPath(victim.page, '/login');
      await victim.page.getByText('Your session has ended.', { exact: false }).waitFor();

      await button(page, 'Enable account').click();
      await confirm(page);
      await statusSays(page, `The account of ${carol.username} is enabled.`);
      await button(page, 'Disable account').waitFor();
      assert.equal((await adminUser(id)).disabled, false);
      assert.equal((await stack.api('POST', '/auth/login', { login: carol.username, password: carol.password })).status, 200);
    }, { name: 'console-disable' });
    victim.watch.assertClean();
  } finally {
    await victim.context.close();
  }
});

test('an account locked by failed sign-ins is unlocked', { timeout: 120000 }, async () => {
  const dave = await stack.registerVerified();
  const id = await userId(dave.username);
  for (let i = 0; i < lockoutThreshold; i++) {
    const res = await stack.api('POST', '/auth/login', { login: dave.username, password: 'not the password at all' });
    assert.equal(res.status, 401);
  }
  assert.equal((await stack.api('POST', '/auth/login', { login: dave.username, password: dave.password })).status, 423);

  await withPage(browser, stack, desktop, async ({ page }) => {
    await openConsole(page, `/console/users?q=${dave.username}`, 'Users');
    const row = page.locator('tbody tr').filter({ hasText: dave.username });
    await row.getByText(/^Locked until/).waitFor();
    await row.getByRole('link', { name: dave.username, exact: true }).click();
    await page.getByRole('heading', { name: dave.username, exact: true, level: 1 }).waitFor();
    await button(page, 'Unlock').click();
    await confirm(page);
    await statusSays(page, `The account of ${dave.username} is unlocked.`);
    assert.equal(await button(page, 'Unlock').count(), 0, 'no "Unlock" once unlocked');
    assert.equal((await adminUser(id)).locked_until, null);
  }, { name: 'console-unlock' });
  assert.equal((await stack.api('POST', '/auth/login', { login: dave.username, password: dave.password })).status, 200);
});

test('revoking the sessions of a user ends them', { timeout: 120000 }, async () => {
  const erin = await stack.registerVerified();
  const id = await userId(erin.username);
  const grant = await stack.login(erin);
  assert.equal((await stack.api('GET', '/auth/me', undefined, { token: grant.access_token })).status, 200);

  await withPage(browser, stack, desktop, async ({ page }) => {
    await openConsole(page, `/console/users/${id}`, erin.username);
    await button(page, 'Revoke sessions').click();
    await confirm(page);
    await statusSays(page, `Every session of ${erin.username} has ended.`);
  }, { name: 'console-revoke' });
  assert.equal((await stack.api('GET', '/auth/me', undefined, { token: grant.access_token })).status, 401);
  assert.equal((await stack.api('POST', '/auth/refresh', { refresh_token: grant.refresh_token })).status, 401);
});

test('the audit log, filtered by event and by user, reads as sentences', { timeout: 120000 }, async () => {
  const frank = await stack.registerVerified();
  const id = await userId(frank.username);
  assert.equal((await stack.api('POST', '/auth/login', { login: frank.username, password: 'not the password at all' })).status, 401);

  await withPage(browser, stack, desktop, async ({ page }) => {
    // Disabled and enabled again from the console, so that the log has this browser in it.
    await openConsole(page, `/console/users/${id}`, frank.username);
    await button(page, 'Disable account').click();
    await confirm(page);
    await button(page, 'Enable account').click();
    await confirm(page);
    await statusSays(page, `The account of ${frank.username} is enabled.`);

    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Audit log', exact: true, level: 1 }).waitFor();
    assert.equal(await page.title(), 'Audit log · Administration · chatd');
    const list = page.getByRole('list', { name: 'Events', exact: true });
    await list.getByRole('listitem').first().waitFor();

    // By event.
    await page.getByLabel('Event', { exact: true }).selectOption('user.disabled');
    await button(page, 'Filter').click();
    await page.waitForURL((u) => u.searchParams.get('event') === 'user.disabled');
    const disabled = list.getByRole('listitem').filter({ hasText: `${admin.username} disabled the account of ${frank.username}` });
    await disabled.waitFor();
    assert.match(await disabled.innerText(), /127\.0\.0\.1 · Chrome on Linux/);
    // The unfiltered list holds that event too: wait for the filtered page to replace it.
    const onlyDisabled = (events) => events.length >= 1 && events.every((e) => e === 'user.disabled');
    let events = [];
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await page.waitForTimeout(50)) {
      events = await list.locator('.audit-event').allInnerTexts();
      if (onlyDisabled(events)) break;
    }
    assert.ok(onlyDisabled(events), `only user.disabled: ${events}`);

    // By user (a username, looked up), every event, today.
    await page.getByLabel('Event', { exact: true }).selectOption('');
    await field(page, 'User').fill(frank.username);
    const today = new Date().toISOString().slice(0, 10);
    await field(page, 'From').fill(today);
    await field(page, 'To').fill(today);
    await button(page, 'Filter').click();
    await page.waitForURL((u) => u.searchParams.get('user') === frank.username && !u.searchParams.get('event'));
    for (const sentence of [
      `${frank.username} created an account`,
      `${frank.username} confirmed their e-mail address`,
      `Failed sign-in to the account of ${frank.username}`,
      `${admin.username} disabled the account of ${frank.username}`,
      `${admin.username} enabled the account of ${frank.username}`,
    ]) {
      await list.getByRole('listitem').filter({ hasText: sentence }).first().waitFor();
    }
    const texts = await list.getByRole('listitem').allInnerTexts();
    assert.ok(texts.every((t) => t.includes(frank.username)), 'every event is about frank');
    const failed = list.getByRole('listitem').filter({ hasText: 'Failed sign-in' }).first();
    assert.match(await failed.innerText(), /127\.0\.0\.1/);
    // The detail, when there is one, unfolds.
    const withDetail = list.getByRole('listitem').filter({ has: page.locator('details') }).first();
    if ((await withDetail.count()) > 0) {
      await withDetail.locator('summary').click();
      assert.match(await withDetail.locator('pre').innerText(), /^\{/);
    }
    await shoot(page, 'console-audit');

    // A range with nothing in it.
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    await field(page, 'From').fill(tomorrow);
    await field(page, 'To').fill(tomorrow);
    await button(page, 'Filter').click();
    await page.getByText('No event matches these filters.', { exact: true }).waitFor();
  }, { name: 'console-audit' });
});

test('usage: charts of real usage with text alternatives, tables and CSV files', { timeout: 120000 }, async () => {
  const gina = await stack.registerVerified();
  const hank = await stack.registerVerified();
  for (const [user, models] of [
    [gina, [MODEL, MODEL]],
    [hank, [OTHER_MODEL, MODEL]],
  ]) {
    const token = (await stack.login(user)).access_token;
    for (const model of models) {
      const conversation = await stack.apiOk('POST', '/conversations', { model }, { token });
      await stack.apiOk('POST', `/conversations/${conversation.id}/messages`, { content: `usage of ${model} by ${user.username}` }, { token });
    }
  }
  const byModel = await eventually(async () => {
    const res = await stack.apiOk('GET', '/admin/usage?group_by=model', undefined, { token: adminToken });
    return res.items.length >= 2 ? res.items : false;
  });
  const byUser = (await stack.apiOk('GET', '/admin/usage?group_by=user', undefined, { token: adminToken })).items;
  assert.ok(byUser.some((u) => u.username === gina.username) && byUser.some((u) => u.username === hank.username), 'both users counted');

  await withPage(browser, stack, { ...desktop, acceptDownloads: true }, async ({ page }) => {
    await openConsole(page, '/console/usage', 'Usage');
    assert.equal(await page.title(), 'Usage · Administration · chatd');
    const perDay = page.getByRole('region', { name: 'Tokens per day', exact: true });
    const dayChart = perDay.getByRole('img');
    await dayChart.waitFor();
    assert.equal(await dayChart.evaluate((el) => el.tagName), 'CANVAS');
    const box = await dayChart.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 200, `the chart has a size: ${JSON.stringify(box)}`);
    const daySummary = await dayChart.getAttribute('aria-label');
    assert.match(daySummary, /^Tokens per day and model, \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}: /);
    assert.ok(daySummary.includes(`${MODEL} `) && daySummary.includes(`${OTHER_MODEL} `), daySummary);
    // The same numbers as a table.
    await perDay.locator('summary', { hasText: 'Show the numbers' }).click();
    const dayTable = perDay.getByRole('table');
    assert.deepEqual((await dayTable.locator('thead th').allInnerTexts()).slice(1).sort(), [MODEL, OTHER_MODEL].sort());
    assert.equal(await dayTable.locator('tbody tr').count(), 30, 'a row a day');

    const users = page.getByRole('region', { name: 'Top users', exact: true });
    const userSummary = await users.getByRole('img').getAttribute('aria-label');
    assert.ok(userSummary.includes(gina.username) && userSummary.includes(hank.username), userSummary);

    const models = page.getByRole('region', { name: 'By model', exact: true });
    for (const m of byModel) await models.getByRole('rowheader', { name: m.key, exact: true }).waitFor();

    // The charts follow the theme: drawn again in other colours.
    const before = await dayChart.evaluate((c) => c.toDataURL());
    await page.emulateMedia({ colorScheme: 'dark' });
    await eventually(async () => (await dayChart.evaluate((c) => c.toDataURL())) !== before, { message: 'the chart redrawn in dark' });
    await page.emulateMedia({ colorScheme: 'light' });
    await eventually(async () => (await dayChart.evaluate((c) => c.toDataURL())) === before, { message: 'and back in light' });

    // CSV files, parsed back.
    const modelCsv = await download(page, models);
    assert.match(modelCsv.name, /^chatd-usage-per-model-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
    assert.deepEqual(modelCsv.rows[0], ['model', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd']);
    const csvModels = modelCsv.rows.slice(1).map(([model, requests, prompt, completion]) => [model, +requests, +prompt, +completion]);
    assert.deepEqual(
      csvModels.sort(),
      byModel.map((m) => [m.key, m.requests, m.prompt_tokens, m.completion_tokens]).sort(),
    );
    const userCsv = await download(page, users);
    assert.deepEqual(userCsv.rows[0], ['user_id', 'username', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd']);
    const ginaRow = userCsv.rows.find((r) => r[1] === gina.username);
    assert.ok(ginaRow && +ginaRow[2] === 2, `gina sent 2 requests: ${JSON.stringify(userCsv.rows)}`);
    const dayCsv = await download(page, perDay);
    assert.deepEqual(dayCsv.rows[0], ['day', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cost_usd']);
    const today = new Date().toISOString().slice(0, 10);
    assert.ok(dayCsv.rows.some((r) => r[0] === today && r[1] === OTHER_MODEL), JSON.stringify(dayCsv.rows));

    await shoot(page, 'console-usage');
  }, { name: 'console-usage' });
});

test('rotating the signing key shows the new kid, which the JWKS has', { timeout: 120000 }, async () => {
  await withPage(browser, stack, desktop, async ({ page }) => {
    await openConsole(page, '/console/keys', 'Signing keys');
    assert.equal(await page.title(), 'Signing keys · Administration · chatd');
    const current = page.getByRole('region', { name: 'Current signing key', exact: true });
    const before = (await current.locator('code').innerText()).trim();
    assert.ok(before);
    await button(page, 'Rotate signing key').click();
    await confirm(page);
    const status = page.getByRole('status').filter({ hasText: 'New signing key: ' });
    await status.waitFor();
    const kid = (await status.innerText()).replace('New signing key: ', '').trim();
    assert.notEqual(kid, before);
    await current.locator('code', { hasText: kid }).waitFor();
    const older = page.getByRole('region', { name: 'Older keys still accepted', exact: true });
    await older.locator('code', { hasText: before }).waitFor();

    const jwks = await stack.apiOk('GET', '/auth/keys/jwks.json');
    const kids = jwks.keys.map((k) => k.kid);
    assert.ok(kids.includes(kid) && kids.includes(before), `the JWKS has both keys: ${kids}`);
    const keys = await stack.apiOk('GET', '/admin/keys', undefined, { token: adminToken });
    assert.equal(keys.current_kid, kid);
    await shoot(page, 'console-keys');

    // The console goes on working with tokens of the new key.
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('link', { name: admin.username, exact: true }).waitFor();
    await page.getByRole('link', { name: 'Signing keys', exact: true }).click();
    await current.locator('code', { hasText: kid }).waitFor();
  }, { name: 'console-keys' });
});
