// A new chat's model and system prompt, chosen on the page, reach the model: the fake
// upstream's #echo-history answers with the messages it received, system prompt first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MODEL,
  OTHER_MODEL,
  Stack,
  button,
  conversationIdOf,
  field,
  sendMessage,
  signIn,
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

// The toggle of the conversation's settings is not among the contract's names; this is the
// UI's label for it.
const settingsName = 'Conversation settings';

test('the model and system prompt chosen for a new chat are used', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const { access_token: token } = await stack.login(user);
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    const model = field(page, 'Model');
    assert.equal(await model.inputValue(), MODEL, 'the default model is preselected');
    assert.deepEqual(await model.locator('option').evaluateAll((os) => os.map((o) => o.value)), [MODEL, OTHER_MODEL]);
    await model.selectOption(OTHER_MODEL);

    await button(page, settingsName).click();
    await field(page, 'System prompt').fill('You are a terse pirate.');
    const answer = await waitForAnswerDone(page, await sendMessage(page, 'who are you? #echo-history'));
    await waitForPath(page, /^\/chat\//);
    const id = conversationIdOf(page);

    const conversation = await stack.apiOk('GET', `/conversations/${id}`, undefined, { token });
    assert.equal(conversation.model, OTHER_MODEL);
    assert.equal(conversation.system_prompt, 'You are a terse pirate.');
    // What the model received, as the answer shows it.
    const received = JSON.parse(answer.slice(answer.indexOf('[')));
    assert.deepEqual(received, [
      { role: 'system', text: 'You are a terse pirate.' },
      { role: 'user', text: 'who are you? #echo-history' },
    ]);
    assert.equal(await field(page, 'Model').inputValue(), OTHER_MODEL, 'the conversation shows its model');
  }, { name: 'conversation-settings' });
});
