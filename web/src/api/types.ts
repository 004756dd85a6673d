// The shapes of API.md that the UI reads.

export interface User {
  id: string;
  email: string;
  username: string;
  email_verified: boolean;
  roles: string[];
  totp_enabled: boolean;
  created_at: string;
  last_login_at: string | null;
}

// POST /auth/login and /auth/refresh with a cookie session (API.md, Web sessions).
export interface CookieSessionGrant {
  access_token: string;
  token_type: string;
  expires_in: number;
  csrf_token: string;
  session_id?: string;
  user: User;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Conversation {
  id: string;
  title: string;
  model: string;
  system_prompt: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
}

export type MessageStatus = 'complete' | 'error' | 'cancelled' | 'streaming';

export interface Message {
  id: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  model: string | null;
  status: MessageStatus;
  created_at: string;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
}

export interface Model {
  id: string;
  provider: string;
  context_window: number;
  demo?: boolean;
  description?: string;
}

export interface ModelList {
  items: Model[];
  default_model?: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  errors?: { field: string; message: string }[];
  locked_until?: string;
}
