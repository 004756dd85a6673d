// On a phone the conversation list is a drawer: hidden until its button opens it; choosing
// a conversation, starting a new chat or Escape closes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { richMessageNoMath } from './lib/content.mjs';
import {
  PHONE,
  button,
  conversationIdOf,
  conversationNav,
  eventually,
  field,
  screenshot,
  sendMessage,
  signIn,
  Stack,
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

const phone = PHONE;
// The drawer's open button is not among the contract's names; this is the UI's label for it.
const openName = 'Open the conversation list';

test('the conversation list is a drawer on a phone', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, phone, async ({ page }) => {
    await signIn(page, user.username, user.password);
    const nav = conversationNav(page);
    const open = button(page, openName);
    await field(page, 'Message').waitFor();
    assert.equal(await nav.isVisible(), false, 'the list is hidden at first');
    assert.equal(await button(page, 'New chat').isVisible(), false);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');

    // Two conversations.
    await waitForAnswerDone(page, await sendMessage(page, 'first phone chat'));
    await waitForPath(page, /^\/chat\//);
    const firstId = conversationIdOf(page);
    await open.click();
    await nav.waitFor();
    await button(page, 'New chat').click();
    await waitForPath(page, '/');
    await eventually(async () => !(await nav.isVisible()), { message: 'a new chat closes the drawer' });
    await waitForAnswerDone(page, await sendMessage(page, richMessageNoMath));
    await waitForPath(page, /^\/chat\//);
    const secondId = conversationIdOf(page);
    assert.notEqual(secondId, firstId);
    await screenshot(page, 'phone-chat');

    // Open: the list shows, focus goes into it, the page behind is out of reach.
    await open.click();
    await nav.waitFor();
    await eventually(async () => (await nav.getByRole('link').count()) === 2, { message: 'both conversations listed' });
    // The drawer moves focus on the next animation frame (as closing gives it back, below).
    await eventually(() => page.evaluate(() => !!document.activeElement?.closest('nav, [role="dialog"]')), {
      message: 'focus moved into the drawer',
    });
    assert.equal(await field(page, 'Message').isVisible(), true);
    await page.waitForTimeout(300); // the drawer's slide-in, for the picture
    await screenshot(page, 'phone-drawer');

    // Escape closes it and gives focus back to its button.
    await page.keyboard.press('Escape');
    await eventually(async () => !(await nav.isVisible()), { message: 'Escape closes the drawer' });
    await eventually(() => open.evaluate((el) => el === document.activeElement), { message: 'focus back on the open button' });

    // Choosing a conversation navigates and closes it.
    await open.click();
    await nav.waitFor();
    await nav.locator(`a[href="/chat/${encodeURIComponent(firstId)}"]`).click();
    await waitForPath(page, `/chat/${firstId}`);
    await eventually(async () => !(await nav.isVisible()), { message: 'navigation closes the drawer' });
    await page.getByRole('article', { name: 'Assistant', exact: true }).filter({ hasText: 'echo: first phone chat' }).waitFor();
  }, { name: 'phone' });
});
