// The settings area: every section loads under the page's CSP with no console error, in the
// light and dark themes and on a phone (screenshots of each), and the usage section charts
// the tokens of a message sent in the chat.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  PHONE,
  button,
  eventually,
  launchBrowser,
  screenshot,
  sendMessage,
  signIn,
  Stack,
  waitForAnswerDone,
  waitForPath,
  withPage,
} from './lib/harness.mjs';

let stack;
let browser;
before(async () => {
  // A daily quota, so that the usage section shows its bar.
  stack = await Stack.start({ CHATD_USER_TOKEN_QUOTA: '100000' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const sections = [
  { path: 'profile', link: 'Profile' },
  { path: 'security', link: 'Security' },
  { path: 'sessions', link: 'Sessions' },
  { path: 'api-keys', link: 'API keys' },
  { path: 'invitations', link: 'Invitations' },
  { path: 'usage', link: 'Usage' },
];

const settingsNav = (page) => page.getByRole('navigation', { name: 'Settings', exact: true });
const sectionHeading = (page, name) => page.getByRole('heading', { level: 2, name, exact: true });

// A user who has chatted once (so that usage has a day and a model), signed in on `page`.
async function userWithUsage(page) {
  const user = await stack.registerVerified();
  await signIn(page, user.username, user.password);
  await waitForAnswerDone(page, await sendMessage(page, 'Count my tokens, please.'));
  return user;
}

// Waits until the section shows what it is for (its list loaded, its chart drawn).
async function sectionReady(page, path) {
  if (path === 'profile') await page.getByRole('radio', { name: 'System', exact: true }).waitFor();
  if (path === 'security') await button(page, 'Change password').waitFor();
  if (path === 'sessions') await button(page, 'Revoke').first().waitFor();
  if (path === 'api-keys') await button(page, 'Create API key').waitFor();
  if (path === 'invitations') await button(page, 'Create invitation').waitFor();
  if (path === 'usage') {
    await page.getByRole('img', { name: /^Tokens per day over the last 30 days/ }).waitFor();
    // Chart.js has drawn: the canvas holds pixels that are not the background.
    await eventually(
      () =>
        page.evaluate(() => {
          const canvas = document.querySelector('canvas');
          if (!canvas || canvas.width === 0) return false;
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
          return false;
        }),
      { message: 'the chart is drawn' },
    );
  }
}

async function visitEverySection(page, shot) {
  for (const { path, link } of sections) {
    await settingsNav(page).getByRole('link', { name: link, exact: true }).click();
    await waitForPath(page, `/settings/${path}`);
    await sectionHeading(page, link).waitFor();
    await sectionReady(page, path);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${path}: no sideways scrolling`);
    await screenshot(page, `${shot}-${path}`, { fullPage: true });
  }
}

test('every settings section, light theme', { timeout: 120000 }, async () => {
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    const user = await userWithUsage(page);
    // From the chat's account menu to the settings: /settings shows the profile.
    await button(page, 'Account').click();
    await page.getByRole('menuitem', { name: 'Settings', exact: true }).click();
    await waitForPath(page, '/settings/profile');
    await sectionHeading(page, 'Profile').waitFor();
    assert.ok(await page.getByText(user.email, { exact: true }).isVisible(), 'the e-mail is shown');
    const links = await settingsNav(page).getByRole('link').allInnerTexts();
    assert.deepEqual(links, sections.map((s) => s.link));
    await visitEverySection(page, 'settings-light');

    // A reload of a section's own address shows that section.
    const res = await page.goto('/settings/usage');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] || '', /script-src 'self'/);
    await sectionHeading(page, 'Usage').waitFor();
  }, { name: 'settings-light' });
});

test('every settings section, dark theme', { timeout: 120000 }, async () => {
  await withPage(browser, stack, { colorScheme: 'dark' }, async ({ page }) => {
    await userWithUsage(page);
    await page.goto('/settings');
    await waitForPath(page, '/settings/profile');
    const background = await page.evaluate(() => getComputedStyle(document.querySelector('.settings-main')).backgroundColor);
    assert.equal(background, 'rgb(29, 30, 33)', 'the dark theme');
    await visitEverySection(page, 'settings-dark');
  }, { name: 'settings-dark' });
});

test('every settings section on a phone', { timeout: 120000 }, async () => {
  const phone = PHONE;
  await withPage(browser, stack, phone, async ({ page }) => {
    await userWithUsage(page);
    await page.goto('/settings');
    await waitForPath(page, '/settings/profile');
    await visitEverySection(page, 'settings-phone');

    // What is shown once fits too: the two-factor setup and a new API key.
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await settingsNav(page).getByRole('link', { name: 'Security', exact: true }).click();
    await button(page, 'Enable two-factor authentication').click();
    await page.getByRole('img', { name: 'QR code', exact: true }).waitFor();
    assert.ok(await fits(), '2FA setup: no sideways scrolling');
    await screenshot(page, 'settings-phone-2fa-setup', { fullPage: true });
    await settingsNav(page).getByRole('link', { name: 'API keys', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('phone');
    await button(page, 'Create API key').click();
    await page.getByLabel('Your new API key', { exact: true }).waitFor();
    assert.ok(await fits(), 'new API key: no sideways scrolling');
    await screenshot(page, 'settings-phone-api-key', { fullPage: true });
  }, { name: 'settings-phone' });
});

test('the usage section charts the tokens of the chat, per day and per model, and the quota', { timeout: 120000 }, async () => {
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    const user = await userWithUsage(page);
    const { access_token: token } = await stack.login(user);
    const usage = await stack.apiOk('GET', '/usage', undefined, { token });
    assert.ok(usage.prompt_tokens + usage.completion_tokens > 0, JSON.stringify(usage));
    const tokens = usage.prompt_tokens + usage.completion_tokens;

    await page.goto('/settings/usage');
    await sectionReady(page, 'usage');
    // The chart's text alternative names the total of the 30 days and today as the busiest.
    const name = await page.getByRole('img', { name: /^Tokens per day/ }).getAttribute('aria-label');
    assert.match(name, new RegExp(`: ${tokens.toLocaleString('en-US')} in all, the most on `), name);
    // The numbers behind the chart, as a table.
    await page.getByText('Show the numbers').first().click();
    const today = new Date().toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
    const row = page.getByRole('table', { name: 'Tokens per day' }).getByRole('row', { name: new RegExp(`^${today} `) });
    await row.waitFor();
    assert.deepEqual(
      (await row.getByRole('cell').allInnerTexts()).map((s) => Number(s.replace(/,/g, ''))),
      [usage.prompt_tokens, usage.completion_tokens],
    );

    const models = page.getByRole('table', { name: 'Per model, the last 30 days' });
    const modelRow = models.getByRole('row', { name: /^gpt-test / });
    assert.equal((await modelRow.getByRole('cell').first().innerText()).trim(), '1', 'one request');

    const bar = page.getByRole('progressbar', { name: 'Today’s quota' });
    assert.equal(await bar.getAttribute('aria-valuemax'), '100000');
    assert.equal(Number(await bar.getAttribute('aria-valuenow')), 100000 - usage.quota.remaining);
    await page.getByText(/^Resets at \d\d:\d\d UTC, in /).waitFor();
    await screenshot(page, 'settings-usage-chart', { fullPage: true });
  }, { name: 'settings-usage' });
});

test('with no quota, the usage section says so', { timeout: 60000 }, async () => {
  // Another chatd, without CHATD_USER_TOKEN_QUOTA.
  const open = await Stack.start();
  try {
    const user = await open.registerVerified();
    await withPage(browser, open, { colorScheme: 'light' }, async ({ page }) => {
      await signIn(page, user.username, user.password);
      await page.goto('/settings/usage');
      await page.getByText('Your account has no daily quota.', { exact: true }).waitFor();
      assert.equal(await page.getByRole('progressbar').count(), 0);
      await page.getByText('No requests in the last 30 days.', { exact: true }).waitFor();
    }, { name: 'settings-no-quota' });
  } finally {
    await open.stop();
  }
});

test('the Invitations section is hidden from a user who may not invite', { timeout: 60000 }, async () => {
  const closed = await Stack.start({ CHATD_USER_INVITES: 'false' });
  try {
    const user = await closed.registerVerified();
    await withPage(browser, closed, { colorScheme: 'light' }, async ({ page }) => {
      await signIn(page, user.username, user.password);
      await page.goto('/settings/profile');
      await settingsNav(page).getByRole('link', { name: 'Usage', exact: true }).waitFor();
      // The navigation knows once GET /invitations has answered.
      await page.waitForLoadState('networkidle');
      assert.deepEqual(await settingsNav(page).getByRole('link').allInnerTexts(), ['Profile', 'Security', 'Sessions', 'API keys', 'Usage']);
      await page.goto('/settings/invitations');
      await waitForPath(page, '/settings/profile');
    }, { name: 'settings-no-invites' });
  } finally {
    await closed.stop();
  }
});
