// The main journey with the keyboard alone: no click anywhere in this file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Stack,
  assistantMessages,
  button,
  conversationIdOf,
  eventually,
  field,
  startForFile,
  waitForAnswerDone,
  waitForPath,
  withPage,
} from './lib/harness.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

const isFocused = (locator) => locator.evaluate((el) => el === document.activeElement);

// Presses Tab until `locator` has the focus (at most `max` times).
async function tabTo(page, locator, max = 30) {
  for (let i = 0; i <= max; i++) {
    if (await isFocused(locator).catch(() => false)) return i;
    await page.keyboard.press('Tab');
  }
  const active = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(`Tab did not reach the element in ${max} presses; focus is on ${active}`);
}

test('sign in, start a chat, send, stop and search with the keyboard alone', { timeout: 120000 }, async () => {
  const user = await stack.registerVerified();
  const { access_token: token } = await stack.login(user);
  await withPage(browser, stack, {}, async ({ page }) => {
    await page.goto('/login');
    await tabTo(page, field(page, 'Email or username'));
    await page.keyboard.type(user.username);
    await tabTo(page, field(page, 'Password'));
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await waitForPath(page, '/');
    const message = field(page, 'Message');
    await message.waitFor();

    // Ctrl+Shift+O: a new chat, with the focus in the message box.
    await tabTo(page, field(page, 'Search conversations')); // focus somewhere else first
    await page.keyboard.press('Control+Shift+O');
    await eventually(() => isFocused(message), { message: 'Ctrl+Shift+O focuses the message box' });

    // Shift+Enter is a new line; Enter sends.
    await page.keyboard.type('first line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line #slow');
    assert.equal(await message.inputValue(), 'first line\nsecond line #slow');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && /\/conversations\/[^/]+\/messages$/.test(new URL(r.url()).pathname));
    await page.keyboard.press('Enter');
    assert.equal((await sent).postDataJSON().content, 'first line\nsecond line #slow');
    await waitForPath(page, /^\/chat\//);
    const id = conversationIdOf(page);

    // Escape stops the answer while it streams.
    const answer = assistantMessages(page).first();
    await eventually(async () => /tick2/.test(await answer.innerText()), { timeout: 15000, message: 'the answer streaming' });
    await page.keyboard.press('Escape');
    await button(page, 'Send').waitFor();
    const stored = await eventually(async () => {
      const items = (await stack.messages(token, id)).filter((m) => m.role === 'assistant');
      return items.length === 1 && items[0].status === 'cancelled' ? items[0] : false;
    }, { message: 'the answer stored as cancelled' });
    assert.ok(!/tick29/.test(stored.content), 'stopped before the end');

    // Ctrl+K: the search field.
    await page.keyboard.press('Control+K');
    await eventually(() => isFocused(field(page, 'Search conversations')), { message: 'Ctrl+K focuses the search' });

    // Tab reaches the Send button from the message box, and Enter on it sends.
    await tabTo(page, message);
    await page.keyboard.type('sent from the button');
    await page.keyboard.press('Tab');
    assert.ok(await isFocused(button(page, 'Send')), 'Tab goes from the message box to Send');
    await page.keyboard.press('Enter');
    assert.equal(await waitForAnswerDone(page, 2), 'echo: sent from the button');
  }, { name: 'keyboard' });
});
