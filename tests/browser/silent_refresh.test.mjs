// Access tokens that expire while the page is open are replaced without the user noticing:
// chatd here issues access tokens that live 4 s, so every step below outlives several.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Stack,
  assistantMessages,
  button,
  eventually,
  field,
  pathOf,
  sendMessage,
  signIn,
  sleep,
  startForFile,
  waitForAnswerDone,
  withPage,
} from './lib/harness.mjs';

const ttlSeconds = 4;
let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
}, { CHATD_ACCESS_TOKEN_TTL: String(ttlSeconds) });

const isRefresh = (r) => r.method === 'POST' && new URL(r.url).pathname === '/auth/refresh';
const bearer = (headers) => (headers['authorization'] || '').replace(/^Bearer /, '');

test('the session outlives its access tokens, and a reload keeps it', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    const loginResponse = page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/login');
    await signIn(page, user.username, user.password);
    const first = await (await loginResponse).json();
    assert.equal(first.expires_in, ttlSeconds);
    assert.equal(first.refresh_token, undefined, 'cookie mode: no refresh token in the body');
    // The access token stays in memory: not in storage, and the refresh cookie is HttpOnly.
    const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!kept.includes(first.access_token), 'the access token is not in web storage or a script-readable cookie');
    assert.ok(!/chatd_refresh/.test(await page.evaluate(() => document.cookie)), 'the refresh cookie is HttpOnly');
    const cookie = (await page.context().cookies()).find((c) => c.name === 'chatd_refresh');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/auth', 'the refresh cookie is set as API.md says');

    // Past the first token's life (the wait is the point of the test).
    await sleep((ttlSeconds + 2) * 1000);
    const { exp } = JSON.parse(Buffer.from(first.access_token.split('.')[1], 'base64url').toString());
    assert.ok(Date.now() / 1000 > exp, 'the first token has expired (chatd still allows 30 s of clock skew)');

    const answer = await waitForAnswerDone(page, await sendMessage(page, 'still here after the token expired'));
    assert.equal(answer, 'echo: still here after the token expired');
    assert.notEqual(pathOf(page), '/login');

    const refreshes = watch.responses.filter(isRefresh);
    assert.ok(refreshes.length >= 1, 'POST /auth/refresh was called');
    assert.deepEqual(refreshes.map((r) => r.status).filter((s) => s !== 200), [], 'every refresh succeeded');
    const send = watch.responses.find((r) => r.method === 'POST' && /^\/conversations\/[^/]+\/messages$/.test(new URL(r.url).pathname));
    assert.ok(send, 'the message was sent');
    assert.equal(send.status, 200);
    assert.ok(bearer(send.headers) && bearer(send.headers) !== first.access_token, 'sent with a refreshed token');
    assert.deepEqual(watch.responses.filter((r) => r.status === 401).map((r) => r.url), [], 'no request was refused');

    // A reload: the cookie brings the session back without signing in.
    const before = Date.now();
    await page.reload();
    await button(page, 'New chat').waitFor();
    assert.notEqual(pathOf(page), '/login');
    const after = watch.responses.filter((r) => isRefresh(r) && r.time >= before);
    assert.ok(after.length >= 1 && after[0].status === 200, 'the reloaded page refreshed with the cookie');
    await assistantMessages(page).last().waitFor();
    assert.match(await assistantMessages(page).last().innerText(), /echo: still here after the token expired/);
  }, { name: 'silent-refresh' });
});

test('a token that expired while refreshing was impossible is refreshed when next needed', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await signIn(page, user.username, user.password);
    // The network drops every refresh while the token runs out.
    watch.allowConsoleError(/Failed to load resource: net::ERR_FAILED/);
    let dropped = 0;
    await page.route('**/auth/refresh', (route) => {
      dropped += 1;
      return route.abort('failed');
    });
    await sleep((ttlSeconds + 2) * 1000);
    assert.ok(dropped >= 1, 'the page tried to refresh while the token ran out');
    await page.unroute('**/auth/refresh');
    const since = Date.now();

    assert.equal(await waitForAnswerDone(page, await sendMessage(page, 'back online')), 'echo: back online');
    assert.notEqual(pathOf(page), '/login');
    await field(page, 'Message').waitFor();
    const refreshes = watch.responses.filter((r) => isRefresh(r) && r.time >= since);
    assert.ok(refreshes.length >= 1 && refreshes.every((r) => r.status === 200), 'refreshed once the network was back');
  }, { name: 'refresh-after-outage' });
});

test('a session ended elsewhere returns to sign-in and keeps the draft', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  await withPage(browser, stack, {}, async ({ page, watch }) => {
    await signIn(page, user.username, user.password);
    await waitForAnswerDone(page, await sendMessage(page, 'a conversation'));
    const here = new URL(page.url()).pathname;
    await field(page, 'Message').fill('a draft worth keeping');

    // Every session of the user ends (as "Sign out everywhere" on another device does).
    const other = await stack.login(user);
    await stack.apiOk('POST', '/auth/logout-all', undefined, { token: other.access_token });
    // The next refresh is refused with 401, which Chromium logs.
    watch.allowConsoleError(/Failed to load resource: the server responded with a status of 401/);
    await page.waitForURL((u) => u.pathname === '/login', { timeout: ttlSeconds * 1000 + 10000 });

    await field(page, 'Email or username').fill(user.username);
    await field(page, 'Password').fill(user.password);
    await button(page, 'Sign in').click();
    await page.waitForURL((u) => u.pathname === here);
    await eventually(async () => (await field(page, 'Message').inputValue()) === 'a draft worth keeping', { message: 'the draft kept' });
  }, { name: 'session-ended' });
});
