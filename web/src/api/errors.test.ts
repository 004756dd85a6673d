import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiErrorFrom, errorMessage, fieldMessages, parseRetryAfter, toApiError } from './errors';

function problem(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

describe('apiErrorFrom', () => {
  it('reads a problem document with field errors, Retry-After and the request id', async () => {
    const e = await apiErrorFrom(
      problem(
        422,
        {
          type: 'about:blank',
          title: 'Unprocessable Entity',
          status: 422,
          code: 'validation_failed',
          detail: 'invalid input',
          errors: [{ field: 'password', message: 'must be at least 12 characters' }],
        },
        { 'X-Request-Id': 'req-1' },
      ),
    );
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(422);
    expect(e.code).toBe('validation_failed');
    expect(e.fields).toEqual([{ field: 'password', message: 'must be at least 12 characters' }]);
    expect(e.requestId).toBe('req-1');
  });

  it('falls back on the status when the body is not a problem document', async () => {
    const e = await apiErrorFrom(new Response('<html>Bad gateway</html>', { status: 502 }));
    expect(e.code).toBe('upstream_error');
    expect(e.kind).toBe('http');
    const f = await apiErrorFrom(new Response('', { status: 500 }));
    expect(f.code).toBe('internal_error');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
  });
});

describe('errorMessage', () => {
  afterEach(() => vi.useRealTimers());

  it('says how long to wait after 429, from Retry-After', async () => {
    const e = await apiErrorFrom(problem(429, { code: 'rate_limited', status: 429 }, { 'Retry-After': '42' }));
    expect(errorMessage(e)).toBe('Too many attempts. Try again in 42 seconds.');
    const m = await apiErrorFrom(problem(429, { code: 'rate_limited', status: 429 }, { 'Retry-After': '150' }));
    expect(errorMessage(m)).toBe('Too many attempts. Try again in 3 minutes.');
    const none = await apiErrorFrom(problem(429, { code: 'rate_limited', status: 429 }));
    expect(errorMessage(none)).toBe('Too many attempts. Wait a moment and try again.');
  });

  it('explains a locked account, with the unlock time when the server gives one', async () => {
    const plain = await apiErrorFrom(problem(423, { code: 'account_locked', status: 423 }));
    expect(errorMessage(plain, 'login')).toMatch(/locked.*15 minutes/);
    const after = await apiErrorFrom(problem(423, { code: 'account_locked', status: 423 }, { 'Retry-After': '600' }));
    expect(errorMessage(after, 'login')).toBe('Too many failed attempts: this account is locked. Try again in 10 minutes.');
    const until = new Date(Date.now() + 10 * 60_000).toISOString();
    const at = await apiErrorFrom(problem(423, { code: 'account_locked', status: 423, locked_until: until }));
    expect(errorMessage(at, 'login')).toMatch(/locked until \d/);
  });

  it('has words for the account codes', async () => {
    const cases: [number, string, string][] = [
      [401, 'invalid_credentials', 'The e-mail or username and password do not match.'],
      [401, 'invalid_otp', 'That code is not right, has expired or was already used.'],
      [403, 'email_not_verified', 'Confirm your e-mail address first: open the link we sent you.'],
      [403, 'account_disabled', 'This account is disabled. Contact your administrator.'],
      [400, 'invalid_token', 'This link is unknown, has expired or was already used.'],
    ];
    for (const [status, code, text] of cases) {
      expect(errorMessage(await apiErrorFrom(problem(status, { code, status })), 'login')).toBe(text);
    }
  });

  it('words a conflict and a 403 by where they happened', async () => {
    const conflict = await apiErrorFrom(problem(409, { code: 'conflict', status: 409, detail: 'taken' }));
    expect(errorMessage(conflict, 'register')).toBe('An account with this e-mail address or username already exists.');
    const forbidden = await apiErrorFrom(problem(403, { code: 'forbidden', status: 403 }));
    expect(errorMessage(forbidden, 'register')).toBe('This server accepts new accounts only with a valid invitation code.');
    expect(errorMessage(forbidden)).toBe('You are not allowed to do that.');
  });

  it('names the request of a server error, and never shows its internals', async () => {
    const e = await apiErrorFrom(problem(500, { code: 'internal_error', status: 500, detail: 'an internal error occurred' }, { 'X-Request-Id': 'abc' }));
    expect(errorMessage(e)).toBe('Something went wrong on the server (request abc). Try again in a moment.');
    const unavailable = await apiErrorFrom(problem(503, { code: 'unavailable', status: 503 }));
    expect(errorMessage(unavailable)).toBe('The server is busy or down for a moment. Try again shortly.');
  });

  it('tells a network failure from a server error', () => {
    const e = toApiError(new TypeError('Failed to fetch'));
    expect(e.kind).toBe('network');
    expect(errorMessage(e)).toBe('Cannot reach the server. Check your connection and try again.');
  });

  it('words the model provider failures', async () => {
    expect(errorMessage(await apiErrorFrom(problem(502, { code: 'upstream_error', status: 502 })))).toBe(
      'The model provider failed to answer. Try again.',
    );
    expect(errorMessage(await apiErrorFrom(problem(504, { code: 'upstream_timeout', status: 504 })))).toBe(
      'The model took too long to answer. Try again.',
    );
  });
});

describe('fieldMessages', () => {
  it('puts each field error beside its field, led by the field label', async () => {
    const e = await apiErrorFrom(
      problem(422, {
        code: 'validation_failed',
        status: 422,
        errors: [
          { field: 'username', message: 'must be 3 to 32 characters' },
          { field: 'password', message: 'is too common' },
          { field: 'password', message: 'second message is ignored' },
          { field: 'email', message: 'Already verified.' },
        ],
      }),
    );
    expect(fieldMessages(e)).toEqual({
      username: 'Username must be 3 to 32 characters',
      password: 'Password is too common',
      email: 'Already verified.',
    });
    expect(errorMessage(e)).toBe('Please check the highlighted fields.');
  });

  it('is empty for anything else', () => {
    expect(fieldMessages(new Error('x'))).toEqual({});
  });
});
