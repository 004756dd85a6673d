// /docs, the API reference: Swagger UI (web/docs/ and the npm package swagger-ui-dist) on
// chatd's OpenAPI document, served under the web UI's CSP and running without a violation or
// a console error (the per-page checks of withPage); "Try it out" with the bearer token of a
// user who signed in answers GET /auth/me with that user.
//
// Swagger UI's markup is not the web UI's contract: an operation is found by what it shows
// (its method and path), and the controls by Swagger UI's own names: the page's "Authorize",
// in its dialog the scheme "bearerAuth" with its text field, "Apply credentials" (shown as
// Authorize), "Remove authorization" (shown as Logout) and "Close";
// an operation's "Try it out" and "Execute".
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { PHONE, SCREENSHOTS, button, eventually, screenshot, startForFile, withPage } from './lib/harness.mjs';

let stack;
let browser;
startForFile((s, b) => {
  stack = s;
  browser = b;
});

const phone = PHONE;

// Opens /docs as a navigation, checks the answer and its policy, and waits for Swagger UI
// to have rendered the operations of the document.
async function openDocs(page, address = '/docs') {
  const res = await page.goto(address);
  assert.equal(res.status(), 200, address);
  assert.match(res.headers()['content-type'] || '', /^text\/html/);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'/, 'the web UI policy');
  assert.match(csp, /style-src 'self'/, 'the web UI policy');
  assert.doesNotMatch(csp, /unsafe-(eval|inline)/);
  await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 20000 });
  await page.waitForLoadState('networkidle');
}

// Every operation the page shows, as "METHOD /path" (Swagger UI breaks long paths with <wbr>
// and zero-width spaces, which are no text).
async function shownOperations(page) {
  return page.locator('.opblock-summary').evaluateAll((summaries) =>
    summaries.map((s) => {
      const method = s.querySelector('.opblock-summary-method')?.textContent ?? '';
      const p = s.querySelector('.opblock-summary-path, .opblock-summary-path__deprecated')?.textContent ?? '';
      return `${method} ${p}`.replace(/\u200b/g, '').replace(/\s+/g, ' ').trim();
    }),
  );
}

// The operation block that shows `method` and `path`.
function operation(page, method, urlPath) {
  return page
    .locator('.opblock')
    .filter({ has: page.locator('.opblock-summary-method').getByText(method, { exact: true }) })
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${urlPath}"]`) })
    .first();
}

test('/docs shows the API reference under the page policy', { timeout: 90000 }, async () => {
  const spec = await stack.apiOk('GET', '/openapi.json');
  assert.match(spec.openapi, /^3\.1\./, 'an OpenAPI 3.1 document');
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page, watch }) => {
    await openDocs(page);
    assert.equal(await page.title(), 'chatd API reference');
    await page.getByRole('heading', { name: 'API reference', level: 1 }).waitFor();
    await button(page, 'Authorize').waitFor();

    const shown = await shownOperations(page);
    for (const op of ['POST /auth/login', 'GET /auth/me', 'POST /v1/chat/completions']) {
      assert.ok(shown.includes(op), `${op} is shown (shown: ${shown.join(', ')})`);
    }
    // Every operation of the document is on the page.
    const documented = Object.entries(spec.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'].includes(k))
        .map((k) => `${k.toUpperCase()} ${p}`),
    );
    assert.deepEqual([...new Set(shown)].sort(), [...new Set(documented)].sort(), 'the page shows the document');

    // The page's files are chatd's own: all answered, none from elsewhere (withPage checks
    // the origin), no source map asked for.
    const files = watch.responses.filter((r) => new URL(r.url).pathname.startsWith('/docs/'));
    assert.ok(files.length >= 4, `the page's files were loaded: ${files.map((r) => r.url).join(', ')}`);
    for (const r of files) assert.equal(r.status, 200, r.url);
    assert.ok(!watch.requests.some((r) => r.url.endsWith('.map')), 'no source map requested');
    assert.ok(watch.responses.some((r) => r.url.endsWith('/openapi.json') && r.status === 200), 'the document was fetched');
    await screenshot(page, 'api-docs');

    // Deep links: opening an operation puts it in the address, and that address opens it.
    const me = operation(page, 'GET', '/auth/me');
    await me.locator('.opblock-summary-control').click();
    await me.getByRole('button', { name: 'Try it out', exact: true }).waitFor();
    const hash = await eventually(() => /\/me$/.test(new URL(page.url()).hash) && new URL(page.url()).hash, { message: 'the address names the operation' });
    await page.goto('about:blank'); // a new document: not a jump within this one
    await openDocs(page, `/docs${hash}`);
    await operation(page, 'GET', '/auth/me').getByRole('button', { name: 'Try it out', exact: true }).waitFor();
  }, { name: 'api-docs' });
});

test('"Try it out" with a bearer token from signing in answers GET /auth/me', { timeout: 90000 }, async () => {
  const user = await stack.registerVerified();
  const { access_token: token } = await stack.login(user);
  await withPage(browser, stack, { colorScheme: 'light' }, async ({ page }) => {
    await openDocs(page);

    // Authorize: the token goes into the bearerAuth scheme's field.
    await button(page, 'Authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.waitFor();
    const scheme = dialog.locator('.auth-container').filter({ has: page.locator('h4 code').getByText('bearerAuth', { exact: true }) });
    await scheme.getByRole('textbox').fill(token);
    await button(scheme, 'Apply credentials').click();
    await button(scheme, 'Remove authorization').waitFor(); // its "Logout": the scheme is authorized
    await button(scheme, 'Close').click();
    await dialog.waitFor({ state: 'detached' });
    // Kept in the tab's memory only (persistAuthorization is off).
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!stored.includes(token), 'the token is in no storage');

    // GET /auth/me: open it, Try it out, Execute.
    const me = operation(page, 'GET', '/auth/me');
    await me.locator('.opblock-summary-control').click();
    await button(me, 'Try it out').click();
    const requested = page.waitForRequest((r) => new URL(r.url()).pathname === '/auth/me' && r.method() === 'GET');
    await button(me, 'Execute').click();
    assert.equal((await requested).headers()['authorization'], `Bearer ${token}`, 'the request carries the token');

    const live = me.locator('.live-responses-table');
    const status = live.locator('.response .response-col_status').first();
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), '200');
    const shown = await live.locator('.response-col_description .highlight-code').first().innerText();
    assert.ok(shown.includes(`"email": "${user.email}"`), `the response shows the user's email: ${shown}`);
    assert.ok(shown.includes(`"username": "${user.username}"`), 'and the username');
    assert.match(await me.locator('.curl-command').innerText(), /Authorization: Bearer /, 'the curl command has the token');

    await me.scrollIntoViewIfNeeded();
    await me.screenshot({ path: path.join(SCREENSHOTS, 'api-docs-try-it-out.png') });
  }, { name: 'api-docs-try-it-out' });
});

test('/docs on a phone', { timeout: 90000 }, async () => {
  await withPage(browser, stack, phone, async ({ page }) => {
    await openDocs(page);
    const shown = await shownOperations(page);
    assert.ok(shown.includes('POST /auth/login') && shown.includes('POST /v1/chat/completions'), shown.join(', '));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    await screenshot(page, 'api-docs-phone');

    // An operation opened on a phone still fits.
    const me = operation(page, 'GET', '/auth/me');
    await me.locator('.opblock-summary-control').click();
    await button(me, 'Try it out').waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'an open operation: no sideways scrolling');
    await me.scrollIntoViewIfNeeded();
    await screenshot(page, 'api-docs-phone-operation');
  }, { name: 'api-docs-phone' });
});
