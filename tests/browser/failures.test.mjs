// A provider that fails: the page says so, keeps the message, and Retry asks again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Stack,
  assistantMessages,
  conversationIdOf,
  eventually,
  sendMessage,
  signIn,
  startForFile,
  userMessages,
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

test('a failed answer is shown as failed and Retry asks again', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const { access_token: token } = await stack.login(user);
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    // The fake fails the first request with this exact text (chatd here does not retry).
    const text = `flaky once #fail1-500 ${Date.now()}`;
    await sendMessage(page, text);
    await waitForPath(page, /^\/chat\//);
    const id = conversationIdOf(page);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await userMessages(page).first().innerText(), /flaky once/, 'the message stays');
    const stored = await eventually(async () => {
      const items = await stack.messages(token, id);
      return items.length === 2 && items[1].status === 'error' ? items : false;
    }, { message: 'the failed answer stored with status error' });
    assert.equal(stored[0].content, text);

    await alert.getByRole('button', { name: 'Retry', exact: true }).click();
    await eventually(async () => (await assistantMessages(page).last().innerText()).includes(`echo: ${text}`), { message: 'the answer after Retry' });
    await waitForAnswerDone(page, await assistantMessages(page).count());
    assert.equal(await alert.count(), 0, 'the failure notice is gone');
  }, { name: 'failures' });
});
