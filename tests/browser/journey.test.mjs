// The whole journey of a new user: create an account, confirm it from the e-mail, sign in,
// chat with a streamed answer, stop an answer, search, rename, delete, sign out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PASSWORD,
  Stack,
  assistantMessages,
  button,
  conversationIdOf,
  conversationNav,
  eventually,
  field,
  pathOf,
  sendMessage,
  signIn,
  sleep,
  startForFile,
  uniqueName,
  userMessages,
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

test('register, confirm by e-mail, sign in, chat, stop, search, rename, delete, sign out', { timeout: 180000 }, () =>
  withPage(browser, stack, {}, async ({ page }) => {
    // Create the account.
    const username = uniqueName();
    const email = `${username}@example.com`;
    await page.goto('/register');
    await field(page, 'Email').fill(email);
    await field(page, 'Username').fill(username);
    await field(page, 'Password').fill(PASSWORD);
    const registered = page.waitForResponse((r) => r.url().endsWith('/auth/register') && r.request().method() === 'POST');
    await button(page, 'Create account').click();
    assert.equal((await registered).status(), 201);

    // Confirm it with the link of the e-mail, in this browser.
    const mail = await stack.smtp.waitFor(email);
    const link = SmtpSink.linkIn(mail);
    assert.ok(link.startsWith(stack.baseURL + '/'), `the link points at this chatd: ${link}`);
    const confirmed = page.waitForResponse((r) => r.url().endsWith('/auth/email/verify/confirm'));
    await page.goto(link);
    assert.equal((await confirmed).status(), 200, 'the verification page confirmed the address');

    // Sign in.
    await signIn(page, username, PASSWORD);
    const api = await stack.login({ username, password: PASSWORD });
    const token = api.access_token;

    // A new chat and a streamed answer: the text grows while it streams.
    await button(page, 'New chat').click();
    const firstCount = await sendMessage(page, 'Stream this please #slow');
    await waitForPath(page, /^\/chat\/[^/]+$/);
    const firstId = conversationIdOf(page);
    await userMessages(page).first().waitFor();
    assert.match(await userMessages(page).first().innerText(), /Stream this please #slow/);
    const answer = assistantMessages(page).last();
    const seen = [];
    await eventually(
      async () => {
        const text = (await answer.innerText().catch(() => '')).trim();
        if (text && seen[seen.length - 1] !== text) seen.push(text);
        const growing = seen.filter((s) => s.startsWith('echo:'));
        return growing.length >= 3;
      },
      { timeout: 15000, interval: 100, message: 'the answer growing in several steps' },
    );
    for (let i = 1; i < seen.length; i++) {
      if (seen[i - 1].startsWith('echo:')) assert.ok(seen[i].startsWith(seen[i - 1].replace(/\s+$/, '')), `text grows: ${JSON.stringify(seen)}`);
    }
    const full = await waitForAnswerDone(page, firstCount);
    assert.match(full, /^echo: Stream this please #slow tick1 tick2 .* tick\d+$/s);
    const stored = await stack.messages(token, firstId);
    assert.deepEqual(stored.map((m) => [m.role, m.status]), [['user', 'complete'], ['assistant', 'complete']]);
    assert.equal(stored[1].content.trim(), full);

    // Stop an answer mid-way: the partial text stays, also after a reload (stored cancelled).
    await sendMessage(page, 'Then stop me #slow');
    const partialAnswer = assistantMessages(page).nth(1);
    await eventually(async () => /tick3/.test(await partialAnswer.innerText()), { timeout: 15000, message: 'a few deltas' });
    await button(page, 'Stop').click();
    await button(page, 'Send').waitFor();
    const shownAtStop = (await partialAnswer.innerText()).trim();
    await sleep(800); // ticks come every 200 ms: a stream still running would add four
    const shownLater = (await partialAnswer.innerText()).trim();
    assert.equal(shownLater, shownAtStop, 'nothing is added after Stop');
    assert.ok(!/tick29/.test(shownLater), `the answer was cut short: ${shownLater}`);
    const cancelled = await eventually(async () => {
      const items = await stack.messages(token, firstId);
      return items.length === 4 && items[3].status === 'cancelled' ? items[3] : false;
    }, { message: 'the partial answer stored as cancelled' });
    assert.match(cancelled.content, /^echo: Then stop me #slow/);
    assert.ok(!/tick29/.test(cancelled.content));
    await page.reload();
    await eventually(async () => (await assistantMessages(page).count()) === 2, { message: 'two answers after reload' });
    const reloaded = (await assistantMessages(page).nth(1).innerText()).trim();
    assert.ok(reloaded.includes(cancelled.content.trim()), `after reload the partial answer is shown: ${reloaded}`);

    // A second conversation, then search.
    await button(page, 'New chat').click();
    await waitForPath(page, '/');
    // sendMessage counts the answers shown: not the previous chat's, still on screen for a moment.
    await eventually(async () => (await assistantMessages(page).count()) === 0, { message: 'the new chat is empty' });
    const pineappleCount = await sendMessage(page, 'pineapple upside down cake');
    await eventually(() => pathOf(page) !== '/' && pathOf(page) !== `/chat/${firstId}`, { message: 'the second chat opened' });
    const secondId = conversationIdOf(page);
    await waitForAnswerDone(page, pineappleCount);
    const nav = conversationNav(page);
    const links = nav.getByRole('link');
    await eventually(async () => (await links.count()) === 2, { message: 'two conversations listed' });
    await field(page, 'Search conversations').fill('pineapple');
    await eventually(async () => {
      const hrefs = await links.evaluateAll((els) => els.map((a) => a.getAttribute('href')));
      return hrefs.length === 1 && hrefs[0] === `/chat/${encodeURIComponent(secondId)}`;
    }, { message: 'the search keeps only the matching conversation' });
    await field(page, 'Search conversations').fill('');
    await eventually(async () => (await links.count()) === 2, { message: 'both listed again' });

    // Rename the first conversation.
    const firstItem = nav.getByRole('listitem').filter({ has: page.locator(`a[href="/chat/${encodeURIComponent(firstId)}"]`) });
    await button(firstItem, 'Conversation actions').click();
    await page.getByRole('menuitem', { name: 'Rename', exact: true }).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Renamed by the browser test');
    await page.keyboard.press('Enter');
    await nav.getByRole('link', { name: 'Renamed by the browser test', exact: true }).waitFor();
    await eventually(async () => {
      const c = await stack.apiOk('GET', `/conversations/${firstId}`, undefined, { token });
      return c.title === 'Renamed by the browser test';
    }, { message: 'the new title stored' });

    // Delete it, confirming in the dialog.
    await button(nav.getByRole('listitem').filter({ hasText: 'Renamed by the browser test' }), 'Conversation actions').click();
    await page.getByRole('menuitem', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await button(dialog, 'Delete').click();
    await dialog.waitFor({ state: 'detached' });
    await nav.getByRole('link', { name: 'Renamed by the browser test', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await links.count(), 1);
    assert.equal((await stack.api('GET', `/conversations/${firstId}`, undefined, { token })).status, 404);

    // Sign out: back on the sign-in page, and a reload does not bring the session back.
    await button(page, 'Account').click();
    await page.getByRole('menuitem', { name: 'Sign out', exact: true }).click();
    await waitForPath(page, '/login');
    await page.goto('/');
    await waitForPath(page, '/login');
    await field(page, 'Email or username').waitFor();
  }, { name: 'journey' }),
);
