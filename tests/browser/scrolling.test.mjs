// Auto-scroll follows a streaming answer only while the reader is at the bottom: scrolling up
// stops it and shows "Jump to latest", which brings the view back and follows again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL, Stack, assistantMessages, button, eventually, field, signIn, sleep, startForFile, withPage } from './lib/harness.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

// How far the message list is from its bottom, in pixels.
function distanceFromBottom(page) {
  return page.evaluate(() => {
    let el = document.querySelector('article')?.parentElement;
    while (el && !(el.scrollHeight > el.clientHeight && /(auto|scroll)/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
    if (!el) throw new Error('no scrolling message list');
    return el.scrollHeight - el.scrollTop - el.clientHeight;
  });
}

test('auto-scroll follows the answer at the bottom only, and Jump to latest brings it back', { timeout: 120000 }, async () => {
  const user = await stack.registerVerified();
  const token = (await stack.login(user)).access_token;
  const conv = await stack.apiOk('POST', '/conversations', { model: MODEL, title: 'tall' }, { token });
  const tall = Array.from({ length: 12 }, (_, i) => `line ${i}`).join('\n\n');
  for (let i = 0; i < 6; i++) await stack.apiOk('POST', `/conversations/${conv.id}/messages`, { content: `${tall}\n\nround ${i}` }, { token });

  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    await page.goto(`/chat/${conv.id}`);
    await assistantMessages(page).nth(5).waitFor();
    await eventually(async () => (await distanceFromBottom(page)) < 4, { message: 'opened at the bottom' });

    // A slow answer: one delta every 200 ms for about 6 s.
    await field(page, 'Message').fill('follow me #slow');
    await button(page, 'Send').click();
    await button(page, 'Stop').waitFor();
    const answer = assistantMessages(page).nth(6);
    let before = '';
    for (let i = 0; i < 2; i++) {
      await eventually(async () => {
        const text = await answer.innerText();
        return text.length > before.length ? text : false;
      }, { message: 'the answer grows' }).then((t) => { before = t; });
      assert.ok((await distanceFromBottom(page)) < 4, 'the view follows the answer');
    }
    assert.equal(await button(page, 'Jump to latest').count(), 0);

    // The reader scrolls up: the view stays where they put it while the answer grows.
    const list = page.locator('article').first();
    const box = await list.boundingBox();
    await page.mouse.move(box.x + box.width / 2, 300);
    await page.mouse.wheel(0, -3000);
    await button(page, 'Jump to latest').waitFor();
    const away = await distanceFromBottom(page);
    assert.ok(away > 200, `scrolled up (${away}px from the bottom)`);
    const grown = await answer.innerText();
    await eventually(async () => (await answer.innerText()).length > grown.length, { message: 'the answer grows meanwhile' });
    await sleep(300);
    assert.ok((await distanceFromBottom(page)) >= away, 'the view did not move back down on its own');

    // Jump to latest: at the bottom again, following the rest of the answer.
    await button(page, 'Jump to latest').click();
    await eventually(async () => (await distanceFromBottom(page)) < 4, { message: 'back at the bottom' });
    await eventually(async () => (await button(page, 'Jump to latest').count()) === 0, { message: 'the button goes' });
    if ((await button(page, 'Stop').count()) > 0) {
      const now = await answer.innerText();
      await eventually(async () => (await answer.innerText()).length > now.length, { message: 'still streaming' }).catch(() => undefined);
      assert.ok((await distanceFromBottom(page)) < 4, 'following again');
    }
  }, { name: 'scrolling' });
});

test('a reader held at the top while older messages load reaches the first message', { timeout: 180000 }, async () => {
  const user = await stack.registerVerified();
  const token = (await stack.login(user)).access_token;
  const conv = await stack.apiOk('POST', '/conversations', { model: MODEL, title: 'long' }, { token });
  for (let i = 0; i < 150; i++) await stack.apiOk('POST', `/conversations/${conv.id}/messages`, { content: `m${i}` }, { token });

  await withPage(browser, stack, {}, async ({ page }) => {
    await signIn(page, user.username, user.password);
    // Older pages come slowly, so the reader is already at the very top when each arrives:
    // no scroll event follows (the view cannot go further up), and loading must go on anyway.
    await page.route(/\/messages\?.*cursor=/, async (route) => {
      await sleep(400);
      await route.continue();
    });
    await page.goto(`/chat/${conv.id}`);
    await assistantMessages(page).last().waitFor();
    const reached = await eventually(
      () => page.evaluate(() => {
        const arts = [...document.querySelectorAll('article')];
        let el = arts[0]?.parentElement;
        while (el && !(el.scrollHeight > el.clientHeight && /(auto|scroll)/.test(getComputedStyle(el).overflowY))) el = el.parentElement;
        if (el) el.scrollTop = 0;
        return arts.some((a) => a.textContent.trim() === 'm0');
      }),
      { timeout: 60000, interval: 50, message: 'the first message reached from the top' },
    );
    assert.ok(reached);
  }, { name: 'scrolling-top' });
});
