// An answer's markdown is rendered as a person expects it: emphasis, lists, a table,
// highlighted code with a copy button, and math (KaTeX), all within the page's CSP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { richMessage } from './lib/content.mjs';
import {
  Stack,
  assistantMessages,
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

test('markdown, code and math in a streamed answer are rendered', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    await signIn(page, user.username, user.password);
    await waitForAnswerDone(page, await sendMessage(page, richMessage));
    const answer = assistantMessages(page).last();
    assert.equal(await answer.locator('strong', { hasText: 'short' }).count(), 1, 'bold');
    assert.equal(await answer.locator('em', { hasText: 'emphasis' }).count(), 1, 'emphasis');
    assert.equal(await answer.getByRole('listitem').count(), 2, 'a list of two');
    assert.equal(await answer.getByRole('table').count(), 1, 'a table');
    assert.equal(await answer.getByRole('cell', { name: 'gpt-test', exact: true }).count(), 1);
    const code = answer.locator('pre code');
    assert.equal(await code.count(), 1, 'a code block');
    assert.match(await code.innerText(), /def greet\(name\):\n {4}return f"Hello, \{name\}!"/);
    assert.ok((await code.locator('span[class^="hljs-"]').count()) > 0, 'the code is highlighted');
    assert.equal(await answer.getByRole('button').count(), 1, "the code block's copy button");
    assert.ok((await answer.locator('.katex').count()) >= 2, 'inline and displayed math');
    assert.equal(await answer.locator('.katex-display').count(), 1, 'displayed math');
    assert.equal(await answer.locator('.katex-error').count(), 0, 'math without errors');
    // KaTeX's own font, not a fallback: the page may load it (same origin, within the CSP).
    await page.evaluate(() => document.fonts.ready);
    assert.ok(await page.evaluate(() => document.fonts.check('16px KaTeX_Main')), 'the KaTeX font is loaded');
    await screenshot(page, 'chat-light');
  }, { name: 'markdown' });
});
