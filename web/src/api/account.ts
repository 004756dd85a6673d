// The account's own settings (API.md, "Accounts", "Invitations", "Chat" GET /usage and
// "API keys"), made as the signed-in user through the session's authFetch like chatApi.
// Every failure is thrown as an ApiError.
import type { SessionManager } from '../session/session';
import { query, type RequestOptions } from './client';
import { ApiError, apiErrorFrom, toApiError } from './errors';
import type { Page, User } from './types';

export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface TwoFactorSetup {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

// POST /api-keys: the key itself is in this answer only.
export interface NewApiKey extends Omit<ApiKey, 'last_used_at'> {
  key: string;
}

export interface Invitation {
  id: string;
  code_prefix: string;
  email: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  invitee_id: string | null;
}

export interface InvitationPage extends Page<Invitation> {
  // Whether this user may create invitations (an admin, or any verified user when
  // CHATD_USER_INVITES is on).
  can_create: boolean;
}

// POST /invitations: the code is in this answer only.
export interface NewInvitation {
  id: string;
  code: string;
  expires_at: string;
}

export interface UsageNumbers {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface UsageRow extends UsageNumbers {
  key: string; // a day "YYYY-MM-DD" or a model id, after group_by
}

export interface Quota {
  limit: number;
  remaining: number;
  resets_at: string;
}

// GET /usage: all-time totals, the daily quota, and with group_by the rows since `from`.
export interface Usage extends UsageNumbers {
  quota: Quota | null;
  items?: UsageRow[];
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

function init(options: RequestOptions): RequestInit {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  const out: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    out.body = JSON.stringify(options.body);
  }
  if (options.signal) out.signal = options.signal;
  return out;
}

export function accountApi(session: Pick<SessionManager, 'authFetch'>) {
  const fetcher: Fetch = (input, i) => session.authFetch(input, i);
  const call = async <T>(path: string, options: RequestOptions = {}): Promise<T> => {
    let res: Response;
    try {
      res = await fetcher(path, init(options));
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
  };
  const id = encodeURIComponent;
  const signalOf = (signal?: AbortSignal): RequestOptions => (signal ? { signal } : {});
  return {
    me: () => call<{ user: User }>('/auth/me'),
    changePassword: (current_password: string, new_password: string) =>
      call<void>('/auth/password/change', { method: 'POST', body: { current_password, new_password } }),
    setupTwoFactor: () => call<TwoFactorSetup>('/auth/2fa/setup', { method: 'POST' }),
    verifyTwoFactor: (code: string) => call<{ recovery_codes: string[] }>('/auth/2fa/verify', { method: 'POST', body: { code } }),
    disableTwoFactor: (password: string, code: string) =>
      call<void>('/auth/2fa/disable', { method: 'POST', body: { password, code } }),

    sessions: (signal?: AbortSignal) => call<{ items: SessionInfo[] }>('/auth/sessions', signalOf(signal)),
    revokeSession: (session: string) => call<void>(`/auth/sessions/${id(session)}`, { method: 'DELETE' }),

    apiKeys: (signal?: AbortSignal) => call<{ items: ApiKey[] }>('/api-keys', signalOf(signal)),
    createApiKey: (body: { name: string; expires_at?: string }) => call<NewApiKey>('/api-keys', { method: 'POST', body }),
    deleteApiKey: (key: string) => call<void>(`/api-keys/${id(key)}`, { method: 'DELETE' }),

    invitations: (params: { limit?: number; cursor?: string | null } = {}, signal?: AbortSignal) =>
      call<InvitationPage>(`/invitations${query(params)}`, signalOf(signal)),
    createInvitation: (body: { email?: string; expires_in_hours?: number }) =>
      call<NewInvitation>('/invitations', { method: 'POST', body }),
    deleteInvitation: (invitation: string) => call<void>(`/invitations/${id(invitation)}`, { method: 'DELETE' }),

    usage: (params: { group_by?: 'day' | 'model'; from?: string; to?: string } = {}, signal?: AbortSignal) =>
      call<Usage>(`/usage${query(params)}`, signalOf(signal)),
  };
}

export type AccountApi = ReturnType<typeof accountApi>;
