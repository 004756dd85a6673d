// The API calls the UI makes. Calls that need a signed-in user go through the session's
// authFetch (bearer token, one refresh and retry on 401); the account calls before sign-in
// use plain fetch. Every failure is thrown as an ApiError.
import type { SessionManager } from '../session/session';
import { ApiError, apiErrorFrom, toApiError } from './errors';
import type { Conversation, Message, ModelList, Page, User } from './types';

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

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

async function send(fetcher: Fetch, path: string, options: RequestOptions): Promise<Response> {
  let res: Response;
  try {
    res = await fetcher(path, init(options));
  } catch (e) {
    throw toApiError(e);
  }
  if (!res.ok) throw await apiErrorFrom(res);
  return res;
}

async function json<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  try {
    return (await res.json()) as T;
  } catch (e) {
    throw new ApiError({ kind: 'http', status: res.status, code: 'internal_error', detail: String(e) });
  }
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Account calls that work without a session.
export function publicApi(fetcher: Fetch = (input, i) => window.fetch(input, i)) {
  const call = async <T>(path: string, options: RequestOptions = {}) => json<T>(await send(fetcher, path, options));
  return {
    register: (body: { email: string; username: string; password: string; invite_code?: string }) =>
      call<{ user: User }>('/auth/register', { method: 'POST', body }),
    requestVerification: (email: string) => call<unknown>('/auth/email/verify/request', { method: 'POST', body: { email } }),
    confirmVerification: (token: string) => call<{ user: User }>('/auth/email/verify/confirm', { method: 'POST', body: { token } }),
    requestPasswordReset: (email: string) => call<unknown>('/auth/password-reset/request', { method: 'POST', body: { email } }),
    confirmPasswordReset: (token: string, new_password: string) =>
      call<void>('/auth/password-reset/confirm', { method: 'POST', body: { token, new_password } }),
  };
}

export type PublicApi = ReturnType<typeof publicApi>;

// Calls made as the signed-in user.
export function chatApi(session: Pick<SessionManager, 'authFetch'>) {
  const fetcher: Fetch = (input, i) => session.authFetch(input, i);
  const call = async <T>(path: string, options: RequestOptions = {}) => json<T>(await send(fetcher, path, options));
  const id = encodeURIComponent;
  return {
    me: () => call<{ user: User }>('/auth/me'),
    models: () => call<ModelList>('/models'),
    conversations: (params: { q?: string; limit?: number; cursor?: string | null }, signal?: AbortSignal) =>
      call<Page<Conversation>>(`/conversations${query(params)}`, signal ? { signal } : {}),
    conversation: (conversation: string) => call<Conversation>(`/conversations/${id(conversation)}`),
    createConversation: (body: { title?: string; model?: string; system_prompt?: string | null }) =>
      call<Conversation>('/conversations', { method: 'POST', body }),
    updateConversation: (conversation: string, body: { title?: string; model?: string; system_prompt?: string | null }) =>
      call<Conversation>(`/conversations/${id(conversation)}`, { method: 'PATCH', body }),
    deleteConversation: (conversation: string) => call<void>(`/conversations/${id(conversation)}`, { method: 'DELETE' }),
    // order "desc": the newest message first, the cursor going back in time.
    messages: (
      conversation: string,
      params: { limit?: number; cursor?: string | null; order?: 'asc' | 'desc' },
      signal?: AbortSignal,
    ) =>
      call<Page<Message>>(`/conversations/${id(conversation)}/messages${query(params)}`, signal ? { signal } : {}),
    // The SSE answer of a new message; the caller reads the body (lib/sse.ts).
    sendMessage: (conversation: string, body: { content: string; model?: string }, signal: AbortSignal) =>
      send(fetcher, `/conversations/${id(conversation)}/messages`, {
        method: 'POST',
        body,
        signal,
        headers: { Accept: 'text/event-stream' },
      }),
  };
}

export type ChatApi = ReturnType<typeof chatApi>;
