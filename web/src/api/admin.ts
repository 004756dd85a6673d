// The administration calls (API.md, "Admin"; role admin, others get 403), made as the
// signed-in user through the session's authFetch like chatApi in client.ts. Every failure
// is thrown as an ApiError.
import type { SessionManager } from '../session/session';
import { query } from './client';
import { ApiError, apiErrorFrom, toApiError } from './errors';
import type { Page, User } from './types';

// A user as the console sees it.
export interface AdminUser extends User {
  disabled: boolean;
  locked_until: string | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  event: string;
  user_id: string | null; // whom it is about
  actor_id: string | null; // who did it, when not the user
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown>;
  username: string | null;
  actor_username: string | null;
}

export interface AuditFilter {
  user_id?: string;
  event?: string;
  from?: string; // YYYY-MM-DD or RFC 3339
  to?: string; // exclusive
}

export interface UsageTotals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

// group_by=day,model: key is the day (YYYY-MM-DD), model the model.
export interface DayModelUsage extends UsageTotals {
  key: string;
  model: string;
}

// group_by=user: key is the user's id.
export interface UserUsage extends UsageTotals {
  key: string;
  username: string | null;
}

// group_by=model: key is the model.
export interface ModelUsage extends UsageTotals {
  key: string;
}

export interface UsageRange {
  from: string; // YYYY-MM-DD, included
  to: string; // YYYY-MM-DD, excluded
}

export interface SigningKeys {
  current_kid: string;
  keys: { kid: string; current: boolean }[];
}

export interface UserPatch {
  roles?: string[];
  disabled?: boolean;
  unlock?: boolean;
}

// The events chatd writes to the audit log (API.md, "Accounts and authentication").
export const auditEvents = [
  'api_key.created',
  'api_key.deleted',
  'email.verified',
  'invitation.accepted',
  'invitation.created',
  'invitation.deleted',
  'key.rotated',
  'login.failed',
  'login.locked',
  'login.succeeded',
  'password.changed',
  'password.reset',
  'password.reset_requested',
  'recovery_code.used',
  'role.changed',
  'session.revoked',
  'sessions.revoked_all',
  'token.refreshed',
  'token.reused',
  'totp.disabled',
  'totp.enabled',
  'user.disabled',
  'user.enabled',
  'user.registered',
  'user.unlocked',
] as const;

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

interface Options {
  method?: string;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

async function call<T>(fetcher: Fetch, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;
  let res: Response;
  try {
    res = await fetcher(path, init);
  } catch (e) {
    throw toApiError(e);
  }
  if (!res.ok) throw await apiErrorFrom(res);
  if (res.status === 204) return undefined as T;
  try {
    return (await res.json()) as T;
  } catch (e) {
    throw new ApiError({ kind: 'http', status: res.status, code: 'internal_error', detail: String(e) });
  }
}

export function adminApi(session: Pick<SessionManager, 'authFetch'>) {
  const fetcher: Fetch = (input, i) => session.authFetch(input, i);
  const id = encodeURIComponent;
  return {
    users: (params: { q?: string; limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
      call<Page<AdminUser>>(fetcher, `/admin/users${query(params)}`, { signal }),
    user: (user: string, signal?: AbortSignal) => call<AdminUser>(fetcher, `/admin/users/${id(user)}`, { signal }),
    updateUser: (user: string, patch: UserPatch) =>
      call<AdminUser>(fetcher, `/admin/users/${id(user)}`, { method: 'PATCH', body: patch }),
    revokeSessions: (user: string) => call<void>(fetcher, `/admin/users/${id(user)}/sessions/revoke`, { method: 'POST' }),
    audit: (params: AuditFilter & { limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
      call<Page<AuditEntry>>(fetcher, `/admin/audit${query({ ...params })}`, { signal }),
    usageByDayAndModel: (range: UsageRange, signal?: AbortSignal) =>
      call<{ items: DayModelUsage[] }>(fetcher, `/admin/usage${query({ ...range, group_by: 'day,model' })}`, { signal }),
    usageByUser: (range: UsageRange, signal?: AbortSignal) =>
      call<{ items: UserUsage[] }>(fetcher, `/admin/usage${query({ ...range, group_by: 'user' })}`, { signal }),
    usageByModel: (range: UsageRange, signal?: AbortSignal) =>
      call<{ items: ModelUsage[] }>(fetcher, `/admin/usage${query({ ...range, group_by: 'model' })}`, { signal }),
    keys: (signal?: AbortSignal) => call<SigningKeys>(fetcher, '/admin/keys', { signal }),
    rotateKey: () => call<{ kid: string }>(fetcher, '/auth/keys/rotate', { method: 'POST' }),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;
