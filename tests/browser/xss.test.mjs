// A model's answer is untrusted: payloads in it must show as text and do nothing. The fake
// upstream echoes the message ("echo: " + text), so the model "says" what the test sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Stack,
  assistantMessages,
  javascriptUrls,
  sendMessage,
  signIn,
  sleep,
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

// Each payload on a paragraph of its own, with what must be visible of it as text.
const payloads = [
  ['<script>window.__x=1</script>', '<script>window.__x=1</script>'],
  ['<img src=x onerror="window.__x=2">', '<img src=x onerror="window.__x=2">'],
  ['[click me](javascript:window.__x=3)', 'click me'],
  ['<svg><script>window.__x=4</script></svg>', '<svg><script>window.__x=4</script></svg>'],
  ['<iframe src="javascript:window.__x=5"></iframe>', '<iframe src="javascript:window.__x=5"></iframe>'],
  ['![tracker](https://evil.example/x.png)', 'tracker'],
  ['<b onclick="window.__x=6">bold?</b>', '<b onclick="window.__x=6">bold?</b>'],
  ['<a href="javascript:window.__x=7">raw link</a>', '<a href="javascript:window.__x=7">raw link</a>'],
  ['[spaced](  JaVaScRiPt:window.__x=8)', 'spaced'],
  ['<details open ontoggle="window.__x=9">x</details>', '<details open ontoggle="window.__x=9">x</details>'],
  ['<style>body{display:none}</style>', '<style>body{display:none}</style>'],
  ['[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)', 'data'],
  ['<form action="https://evil.example/steal"><button>go</button></form>', '<form action="https://evil.example/steal"><button>go</button></form>'],
  ['<meta http-equiv="refresh" content="0;url=https://evil.example/">', '<meta http-equiv="refresh" content="0;url=https://evil.example/">'],
  ['<math><mtext><img src=x onerror="window.__x=10"></mtext></math>', '<math><mtext><img src=x onerror="window.__x=10"></mtext></math>'],
];

async function checkInert(page, payloads) {
  const message = payloads.map(([p]) => p).join('\n\n');
  const answer = await waitForAnswerDone(page, await sendMessage(page, message));
  assert.ok(answer.startsWith('echo:'), answer);
  await sleep(500); // time for an onerror or a refresh to fire, were there one

  const article = assistantMessages(page).last();
  const text = await article.innerText();
  for (const [payload, visible] of payloads) {
    assert.ok(text.includes(visible), `shown as text: ${visible} (payload ${payload})\nanswer:\n${text}`);
  }
  assert.equal(await page.evaluate(() => window.__x), undefined, 'no payload ran');
  assert.deepEqual(await javascriptUrls(page), [], 'no javascript: URL in the DOM');
  // Nothing of the answer became live markup.
  for (const selector of ['script', 'iframe', 'img', 'svg script', 'form', 'meta', 'style', 'details', 'b[onclick]', '[onerror]']) {
    assert.equal(await article.locator(selector).count(), 0, `no ${selector} in the answer`);
  }
  assert.equal(await page.locator('a[href^="data:"]').count(), 0, 'no data: link');
  assert.equal(await page.locator('a[href*="evil.example"]:not([rel~="noopener"])').count(), 0, 'outside links open without an opener');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).display), 'block');

  // Reloaded from the server, the stored answer is just as inert.
  await page.reload();
  await assistantMessages(page).last().waitFor();
  await sleep(300);
  assert.equal(await page.evaluate(() => window.__x), undefined);
  assert.deepEqual(await javascriptUrls(page), []);
  // withPage then asserts no dialog, no console error or CSP violation, and no request to
  // any origin other than chatd's (the image, the form, the meta refresh).
}

test('HTML and markdown payloads in an answer are shown as text and run nothing', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    await checkInert(page, payloads);
  }, { name: 'xss' });
});

test('a javascript: link in math is not followed', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    // KaTeX does not trust \href here: it shows the command as an error, in text.
    await checkInert(page, [['$\\href{javascript:window.__x=11}{math link}$', '\\href']]);
  }, { name: 'xss-math' });
});
