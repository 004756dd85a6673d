// Dark mode: the system's preference is followed, and the theme chosen in the account menu
// wins over it and is remembered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { richMessageNoMath } from './lib/content.mjs';
import {
  Stack,
  backgroundAt,
  button,
  field,
  luminance,
  screenshot,
  sendMessage,
  signIn,
  startForFile,
  waitForAnswerDone,
  withPage,
} from './lib/harness.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

// The luminance of the background behind `locator` and of its text.
async function colours(page, locator) {
  const box = await locator.boundingBox();
  assert.ok(box, 'the element is on screen');
  const bg = await backgroundAt(page, box.x + 2, box.y + 2);
  const text = await locator.evaluate((el) => getComputedStyle(el).color);
  return { background: luminance(bg), text: luminance(text) };
}

async function pageBackground(page) {
  return luminance(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
}

function assertDark({ background, text }, where) {
  assert.ok(background < 0.05, `${where}: dark background (luminance ${background.toFixed(3)})`);
  assert.ok(text > 0.5, `${where}: light text (luminance ${text.toFixed(3)})`);
}

function assertLight({ background, text }, where) {
  assert.ok(background > 0.8, `${where}: light background (luminance ${background.toFixed(3)})`);
  assert.ok(text < 0.1, `${where}: dark text (luminance ${text.toFixed(3)})`);
}

test('a dark system preference gives dark pages', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, { colorScheme: 'dark' }, async ({ page }) => {
    await page.goto('/login');
    const heading = page.getByRole('heading', { level: 1 });
    await heading.waitFor();
    assertDark(await colours(page, heading), 'sign-in heading');
    assert.ok((await pageBackground(page)) < 0.05, 'sign-in page background');
    await screenshot(page, 'sign-in-dark');

    await signIn(page, user.username, user.password);
    await waitForAnswerDone(page, await sendMessage(page, richMessageNoMath));
    const answerText = page.getByRole('article', { name: 'Assistant', exact: true }).getByRole('listitem').first();
    assertDark(await colours(page, answerText), 'an answer');
    assertDark(await colours(page, button(page, 'New chat')), 'the sidebar');
    await page.evaluate(() => document.fonts.ready);
    await screenshot(page, 'chat-dark');
  }, { name: 'dark-system' });
});

test('the theme chosen in the account menu wins over the system and is remembered', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, { colorScheme: 'dark' }, async ({ page }) => {
    await signIn(page, user.username, user.password);
    const search = field(page, 'Search conversations');
    assert.ok((await pageBackground(page)) < 0.05, 'dark to begin with');

    const choose = async (name) => {
      await button(page, 'Account').click();
      const item = page.getByRole('menuitemradio', { name, exact: true });
      await item.click();
      await item.waitFor({ state: 'hidden' });
    };
    await choose('Light');
    assert.ok((await pageBackground(page)) > 0.8, 'light after choosing Light');
    assertLight(await colours(page, page.getByRole('heading', { level: 1 })), 'the chat heading');
    await page.reload();
    await search.waitFor();
    assert.ok((await pageBackground(page)) > 0.8, 'still light after a reload');
    await button(page, 'Account').click();
    assert.equal(await page.getByRole('menuitemradio', { name: 'Light', exact: true }).getAttribute('aria-checked'), 'true');
    await page.keyboard.press('Escape');

    await choose('System');
    assert.ok((await pageBackground(page)) < 0.05, 'dark again with System');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.ok((await pageBackground(page)) > 0.8, 'System follows a change of the preference');
    await choose('Dark');
    assert.ok((await pageBackground(page)) < 0.05, 'dark with Dark on a light system');
  }, { name: 'dark-choice' });
});
