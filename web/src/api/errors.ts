// API errors (RFC 9457 problem documents, network failures) and the words a person reads
// for each of them.
import { duration, t, type MessageKey } from '../i18n';
import type { Problem } from './types';

export interface FieldError {
  field: string;
  message: string;
}

export type ErrorKind = 'http' | 'network' | 'aborted';

export class ApiError extends Error {
  readonly kind: ErrorKind;
  readonly status: number; // 0 when no answer came
  readonly code: string; // the problem's `code`, or 'network' / 'aborted'
  readonly detail: string;
  readonly fields: FieldError[];
  readonly retryAfter: number | null; // seconds, from Retry-After
  readonly requestId: string | null;
  readonly lockedUntil: Date | null;

  constructor(init: {
    kind: ErrorKind;
    status?: number;
    code: string;
    detail?: string;
    fields?: FieldError[];
    retryAfter?: number | null;
    requestId?: string | null;
    lockedUntil?: Date | null;
  }) {
    super(init.detail || init.code);
    this.name = 'ApiError';
    this.kind = init.kind;
    this.status = init.status ?? 0;
    this.code = init.code;
    this.detail = init.detail ?? '';
    this.fields = init.fields ?? [];
    this.retryAfter = init.retryAfter ?? null;
    this.requestId = init.requestId ?? null;
    this.lockedUntil = init.lockedUntil ?? null;
  }
}

// Seconds from a Retry-After value: a number of seconds or an HTTP date.
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function codeForStatus(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  if (status === 422) return 'validation_failed';
  if (status === 423) return 'account_locked';
  if (status === 429) return 'rate_limited';
  if (status === 502) return 'upstream_error';
  if (status === 503) return 'unavailable';
  if (status === 504) return 'upstream_timeout';
  if (status >= 500) return 'internal_error';
  return 'invalid_json';
}

// The ApiError for a response that is not a success. Reads the body.
export async function apiErrorFrom(res: Response): Promise<ApiError> {
  let problem: Problem = {};
  try {
    const text = await res.text();
    if (text) {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') problem = parsed as Problem;
    }
  } catch {
    // Not a problem document (a proxy's error page, a cut connection): the status speaks.
  }
  const lockedUntil = typeof problem.locked_until === 'string' ? new Date(problem.locked_until) : null;
  return new ApiError({
    kind: 'http',
    status: res.status,
    code: typeof problem.code === 'string' && problem.code ? problem.code : codeForStatus(res.status),
    detail: typeof problem.detail === 'string' ? problem.detail : '',
    fields: Array.isArray(problem.errors)
      ? problem.errors.filter((e) => e && typeof e.field === 'string' && typeof e.message === 'string')
      : [],
    retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
    requestId: res.headers.get('X-Request-Id'),
    lockedUntil: lockedUntil && !Number.isNaN(lockedUntil.getTime()) ? lockedUntil : null,
  });
}

// Any thrown value as an ApiError: fetch's TypeError is a network failure, an AbortError
// an abort.
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DOMException && error.name === 'AbortError') return new ApiError({ kind: 'aborted', code: 'aborted' });
  if (error instanceof Error && error.name === 'AbortError') return new ApiError({ kind: 'aborted', code: 'aborted' });
  return new ApiError({ kind: 'network', code: 'network', detail: error instanceof Error ? error.message : String(error) });
}

// Where an error happened, for the few codes whose best words depend on it.
export type ErrorContext = 'login' | 'register' | 'token' | 'chat' | 'general';

const fieldLabels: Record<string, MessageKey> = {
  login: 'field.login',
  password: 'field.password',
  otp: 'field.otp',
  email: 'field.email',
  username: 'field.username',
  invite_code: 'field.inviteCode',
  new_password: 'field.newPassword',
  content: 'field.message',
  model: 'field.model',
  system_prompt: 'field.systemPrompt',
  title: 'field.title',
};

export function fieldLabel(field: string): string {
  const key = fieldLabels[field];
  return key ? t(key) : field;
}

// "Password must be at least 12 characters": the server's field message reads as a
// predicate of the field, so the field's label goes first.
export function fieldText(error: FieldError): string {
  const message = error.message.trim();
  if (/^[a-z]/.test(message)) return t('error.field', { label: fieldLabel(error.field), message });
  return message;
}

// Field name -> text, for the fields of a form; the first message of a field wins.
export function fieldMessages(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const f of error.fields) if (!(f.field in out)) out[f.field] = fieldText(f);
  return out;
}

function timeOfDay(date: Date): string {
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

// The sentence a person reads for an error.
export function errorMessage(error: unknown, context: ErrorContext = 'general'): string {
  const e = toApiError(error);
  if (e.kind === 'network') return t('error.network');
  if (e.kind === 'aborted') return t('error.network');
  switch (e.code) {
    case 'invalid_credentials':
      return t('error.invalidCredentials');
    case 'otp_required':
    case 'invalid_otp':
      return t('error.invalidOtp');
    case 'email_not_verified':
      return t('error.emailNotVerified');
    case 'account_disabled':
      return t('error.accountDisabled');
    case 'account_locked':
      if (e.lockedUntil && e.lockedUntil.getTime() > Date.now()) return t('error.accountLockedUntil', { time: timeOfDay(e.lockedUntil) });
      if (e.retryAfter) return t('error.accountLockedFor', { wait: duration(e.retryAfter) });
      return t('error.accountLocked');
    case 'rate_limited':
      return e.retryAfter ? t('error.rateLimitedFor', { wait: duration(e.retryAfter) }) : t('error.rateLimited');
    case 'unauthorized':
    case 'token_reused':
      return context === 'login' ? t('error.invalidCredentials') : t('error.unauthorized');
    case 'forbidden':
      return context === 'register' ? t('error.registrationForbidden') : t('error.forbidden');
    case 'not_found':
      return t('error.notFound');
    case 'conflict':
      return context === 'register' ? t('error.conflictRegister') : e.detail || t('error.conflict');
    case 'invalid_token':
      return t('error.invalidToken');
    case 'payload_too_large':
      return t('error.tooLarge');
    case 'validation_failed':
      if (e.fields.length > 0) return t('error.validation');
      return e.detail ? capitalise(e.detail) : t('error.validation');
    case 'invalid_json':
    case 'unsupported_media_type':
      return t('error.badRequest');
    case 'upstream_error':
      return t('error.upstream');
    case 'upstream_timeout':
      return t('error.upstreamTimeout');
    case 'unavailable':
      return t('error.unavailable');
    case 'internal_error':
      return e.requestId ? t('error.serverWithId', { id: e.requestId }) : t('error.server');
    default:
      if (e.status >= 500) return e.requestId ? t('error.serverWithId', { id: e.requestId }) : t('error.server');
      return t('error.unknown');
  }
}

function capitalise(s: string): string {
  const text = s.trim();
  return text ? text[0]!.toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.') : text;
}
