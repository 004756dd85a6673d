import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { codeExamples, expiryFor } from './ApiKeysSection';
import { json, problem, renderSettings } from './testkit';

const day = 86_400_000;

describe('expiryFor', () => {
  const now = Date.UTC(2025, 2, 10, 12, 0, 0);
  it('gives nothing for never, now plus the days for the fixed choices', () => {
    expect(expiryFor('never', '', now)).toBeUndefined();
    expect(expiryFor('30', '', now)).toBe(new Date(now + 30 * day).toISOString());
    expect(expiryFor('90', '', now)).toBe(new Date(now + 90 * day).toISOString());
    expect(expiryFor('365', '', now)).toBe(new Date(now + 365 * day).toISOString());
  });
  it('takes a date as the end of that day where the user is, and refuses a past or missing one', () => {
    expect(expiryFor('date', '2025-04-01', now)).toBe(new Date('2025-04-01T23:59:59').toISOString());
    expect(expiryFor('date', '2025-03-01', now)).toBeNull();
    expect(expiryFor('date', '', now)).toBeNull();
    expect(expiryFor('date', 'soon', now)).toBeNull();
  });
});

describe('codeExamples', () => {
  it('puts the base URL, the key and the model in each example', () => {
    const ex = codeExamples('http://127.0.0.1:8080/v1', 'sk-abc', 'gpt-test');
    expect(ex.python).toContain('client = OpenAI(\n    base_url="http://127.0.0.1:8080/v1",\n    api_key="sk-abc",\n)');
    expect(ex.python).toContain('model="gpt-test"');
    expect(ex.javascript).toContain('new OpenAI({\n  baseURL: "http://127.0.0.1:8080/v1",\n  apiKey: "sk-abc",\n});');
    expect(ex.curl).toContain("curl 'http://127.0.0.1:8080/v1/chat/completions'");
    expect(ex.curl).toContain("-H 'Authorization: Bearer sk-abc'");
    expect(ex.curl).toContain('"model":"gpt-test"');
  });
  it('quotes for the shell whatever a model id holds', () => {
    expect(codeExamples('http://x/v1', 'k', "it's").curl).toContain(`'\\''`);
  });
});

const keys = [
  { id: 'k1', name: 'laptop', prefix: 'sk-chatd-ab12', created_at: '2025-01-01T10:00:00Z', last_used_at: null, expires_at: null },
  { id: 'k2', name: 'old', prefix: 'sk-chatd-cd34', created_at: '2024-01-01T10:00:00Z', last_used_at: '2024-02-01T10:00:00Z', expires_at: '2024-06-01T00:00:00Z' },
];

describe('ApiKeysSection', () => {
  it('lists the keys with their prefix, and an expired key says so', async () => {
    await renderSettings('/settings/api-keys', { 'GET /api-keys': () => json(200, { items: keys }) });
    const list = await screen.findByRole('list', { name: 'Your API keys' });
    const laptop = within(list).getByRole('listitem', { name: 'laptop' });
    expect(within(laptop).getByText('sk-chatd-ab12…')).toBeTruthy();
    expect(within(laptop).queryByText('Expired')).toBeNull();
    expect(within(within(list).getByRole('listitem', { name: 'old' })).getByText('Expired')).toBeTruthy();
  });

  it('creates a key, shows it once with the base URL and examples, and lists it', async () => {
    const { calls } = await renderSettings('/settings/api-keys', {
      'GET /api-keys': () => json(200, { items: [] }),
      'POST /api-keys': ({ body }) =>
        json(201, { id: 'k9', name: body?.['name'], prefix: 'sk-chatd-ef56', key: 'sk-chatd-ef56-secret', created_at: '2025-03-10T12:00:00Z', expires_at: body?.['expires_at'] ?? null }),
    });
    await screen.findByText('No API keys yet.');
    await userEvent.click(screen.getByRole('button', { name: 'Create API key' }));
    expect(await screen.findByText('Give the key a name.')).toBeTruthy();
    await userEvent.type(screen.getByLabelText('Name'), 'scripts');
    await userEvent.selectOptions(screen.getByLabelText('Expires'), 'In 30 days');
    const before = Date.now();
    await userEvent.click(screen.getByRole('button', { name: 'Create API key' }));

    const key = (await screen.findByLabelText('Your new API key')) as HTMLInputElement;
    expect(key.value).toBe('sk-chatd-ef56-secret');
    expect(key.readOnly).toBe(true);
    const sent = calls.find((c) => c.method === 'POST' && c.path === '/api-keys')!.body!;
    expect(sent['name']).toBe('scripts');
    const expires = new Date(String(sent['expires_at'])).getTime();
    expect(expires).toBeGreaterThanOrEqual(before + 30 * day);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * day);
    expect(screen.getByText(`${window.location.origin}/v1`)).toBeTruthy();

    // The examples, in tabs that the arrow keys move between.
    const tabs = screen.getByRole('tablist', { name: 'Examples' });
    const curl = within(tabs).getByRole('tab', { name: 'curl' });
    expect(curl.getAttribute('aria-selected')).toBe('true');
    expect(screen.getByRole('tabpanel').textContent).toContain("Bearer sk-chatd-ef56-secret");
    curl.focus();
    await userEvent.keyboard('{ArrowRight}');
    const python = within(tabs).getByRole('tab', { name: 'Python' });
    expect(document.activeElement).toBe(python);
    expect(screen.getByRole('tabpanel').textContent).toContain('OpenAI(\n    base_url=');
    expect(screen.getByRole('tabpanel').textContent).toContain('model="gpt-test"');
    await userEvent.keyboard('{End}');
    expect(screen.getByRole('tabpanel').textContent).toContain("import OpenAI from 'openai';");

    const list = screen.getByRole('list', { name: 'Your API keys' });
    expect(within(list).getByRole('listitem', { name: 'scripts' })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText('Your new API key')).toBeNull();
  });

  it('sends a chosen date, and refuses a past one before sending', async () => {
    const { calls } = await renderSettings('/settings/api-keys', {
      'GET /api-keys': () => json(200, { items: [] }),
      'POST /api-keys': () => problem(422, 'validation_failed', [{ field: 'expires_at', message: 'must be in the future' }]),
    });
    await userEvent.type(await screen.findByLabelText('Name'), 'dated');
    await userEvent.selectOptions(screen.getByLabelText('Expires'), 'On a date…');
    const date = screen.getByLabelText('Expiry date');
    await userEvent.type(date, '2001-01-01');
    await userEvent.click(screen.getByRole('button', { name: 'Create API key' }));
    expect(await screen.findByText('Choose a day after today.')).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
  });

  it('deletes a key after a confirmation', async () => {
    const { calls } = await renderSettings('/settings/api-keys', {
      'GET /api-keys': () => json(200, { items: keys }),
      'DELETE /api-keys/k1': () => json(204),
    });
    const list = await screen.findByRole('list', { name: 'Your API keys' });
    await userEvent.click(within(within(list).getByRole('listitem', { name: 'laptop' })).getByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete the API key “laptop”?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('API key “laptop” deleted.')).toBeTruthy();
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(within(list).queryByRole('listitem', { name: 'laptop' })).toBeNull();
    expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api-keys/k1')).toBe(true);
  });
});
