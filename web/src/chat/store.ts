// The messages of the conversations this page has opened, and the answers being streamed
// into them. It lives as long as the chat page, above the view of one conversation, so an
// answer goes on while the user looks at another conversation (or while a new chat gets
// its address).
import type { ChatApi } from '../api/client';
import { ApiError, toApiError } from '../api/errors';
import type { Message } from '../api/types';
import { t } from '../i18n';
import { readEventStream, type SseEvent } from '../lib/sse';

export interface Failure {
  error: ApiError;
  content: string; // what the user sent, for Retry
  stored: boolean; // whether the server stored the user's message before it failed
}

export interface Thread {
  status: 'idle' | 'loading' | 'ready' | 'error';
  loadError: ApiError | null;
  messages: Message[]; // oldest first
  // The cursor for the messages before messages[0]; null when the first one is loaded.
  older: string | null;
  loadingOlder: boolean;
  streaming: boolean;
  failure: Failure | null;
  // Set once when an answer is complete, for the polite live region; `seq` tells a new
  // announcement of the same text apart.
  announcement: { text: string; seq: number } | null;
}

const emptyThread: Thread = {
  status: 'idle',
  loadError: null,
  messages: [],
  older: null,
  loadingOlder: false,
  streaming: false,
  failure: null,
  announcement: null,
};

const firstPageSize = 50; // a conversation opens on its newest messages
const olderPageSize = 100; // the API's largest page

// When a growing answer is rendered again: at the next frame (a hidden page has none: then
// a little later).
export type Scheduler = (run: () => void) => () => void;
const nextFrame: Scheduler = (run) => {
  if (typeof requestAnimationFrame === 'function' && typeof document !== 'undefined' && !document.hidden) {
    const frame = requestAnimationFrame(run);
    return () => cancelAnimationFrame(frame);
  }
  const timer = setTimeout(run, 50);
  return () => clearTimeout(timer);
};

// What the server's `message` and `done`/`error` events carry.
interface DoneEvent {
  message?: Message;
}
interface ErrorEvent {
  code?: string;
  detail?: string;
  message?: Message;
}

export class ChatStore {
  private threads = new Map<string, Thread>();
  private controllers = new Map<string, AbortController>();
  private listeners = new Set<() => void>();
  private counter = 0;
  private announceSeq = 0;
  // Told when a conversation changed on the server (a message was stored, a title given).
  onActivity: ((conversationId: string) => void) | null = null;

  constructor(
    private readonly api: Pick<ChatApi, 'messages' | 'sendMessage'>,
    private readonly now: () => Date = () => new Date(),
    private readonly schedule: Scheduler = nextFrame,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  thread(id: string | null): Thread {
    return (id && this.threads.get(id)) || emptyThread;
  }

  private update(id: string, change: (thread: Thread) => Partial<Thread>): void {
    const current = this.thread(id);
    this.threads.set(id, { ...current, ...change(current) });
    for (const l of this.listeners) l();
  }

  // Loads the newest page of the conversation (GET ...?order=desc); older pages come with
  // loadOlder, as the user scrolls up.
  async load(id: string): Promise<void> {
    const before = this.thread(id);
    if (before.status === 'loading' || before.streaming) return;
    if (before.status !== 'ready') this.update(id, () => ({ status: 'loading', loadError: null }));
    let messages: Message[];
    let older: string | null;
    try {
      const page = await this.api.messages(id, { limit: firstPageSize, order: 'desc' });
      if (ascending(page.items)) {
        // A chatd without ?order=desc answered oldest first: read every page forwards.
        messages = await this.loadForwards(id, page);
        older = null;
      } else {
        messages = [...page.items].reverse();
        older = page.next_cursor;
      }
    } catch (e) {
      this.update(id, () => ({ status: 'error', loadError: toApiError(e) }));
      return;
    }
    // A stream that started meanwhile owns the end of the list.
    if (this.thread(id).streaming) return;
    this.update(id, () => ({ status: 'ready', loadError: null, messages: visible(messages), older, loadingOlder: false }));
  }

  async loadOlder(id: string): Promise<void> {
    const thread = this.thread(id);
    if (!thread.older || thread.loadingOlder) return;
    const cursor = thread.older;
    this.update(id, () => ({ loadingOlder: true }));
    try {
      const page = await this.api.messages(id, { limit: olderPageSize, order: 'desc', cursor });
      this.update(id, (th) =>
        th.older !== cursor
          ? { loadingOlder: false } // the thread was loaded again meanwhile
          : { messages: [...visible([...page.items].reverse()), ...th.messages], older: page.next_cursor, loadingOlder: false },
      );
    } catch {
      // Scrolling up again tries again.
      this.update(id, () => ({ loadingOlder: false }));
    }
  }

  private async loadForwards(id: string, first: { items: Message[]; next_cursor: string | null }): Promise<Message[]> {
    const all = [...first.items];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await this.api.messages(id, { limit: olderPageSize, cursor });
      all.push(...page.items);
      cursor = page.next_cursor;
    }
    return all;
  }

  // Seeds a conversation created on this page: it has no messages to load.
  created(id: string): void {
    if (!this.threads.has(id)) this.update(id, () => ({ status: 'ready', messages: [] }));
  }

  isStreaming(id: string | null): boolean {
    return this.thread(id).streaming;
  }

  stop(id: string): void {
    this.controllers.get(id)?.abort();
  }

  async retry(id: string, model?: string): Promise<void> {
    const failure = this.thread(id).failure;
    if (failure) await this.send(id, failure.content, model);
  }

  dismissFailure(id: string): void {
    this.update(id, () => ({ failure: null }));
  }

  // Sends a message and streams the answer into the thread. Never throws: a failure ends up
  // in thread.failure (with the content, for Retry). `onStored` is told once the server has
  // stored the user's message. Does nothing while an answer of the thread streams.
  async send(id: string, content: string, model?: string, onStored?: () => void): Promise<void> {
    if (this.thread(id).streaming) return;
    const n = ++this.counter;
    const userId = `local-user-${n}`;
    const answerId = `local-answer-${n}`;
    const at = this.now().toISOString();
    const optimistic: Message = { id: userId, role: 'user', content, model: null, status: 'complete', created_at: at, usage: null };
    const placeholder: Message = { id: answerId, role: 'assistant', content: '', model: model ?? null, status: 'streaming', created_at: at, usage: null };
    this.update(id, (th) => ({
      status: th.status === 'idle' ? 'ready' : th.status,
      messages: [...th.messages, optimistic, placeholder],
      streaming: true,
      failure: null,
    }));

    const controller = new AbortController();
    this.controllers.set(id, controller);
    let text = '';
    const pending: { cancel: (() => void) | null } = { cancel: null }; // a scheduled render
    let shown = false; // the first delta is shown at once, later ones at most once a frame
    let finished = false; // a done or error event came
    let stored = false; // the server stored the user's message

    const replace = (oldId: string, message: Message) =>
      this.update(id, (th) => ({ messages: th.messages.map((m) => (m.id === oldId ? message : m)) }));
    const flush = () => {
      pending.cancel = null;
      const partial = text;
      this.update(id, (th) => ({
        messages: th.messages.map((m) => (m.id === answerId ? { ...m, content: partial } : m)),
      }));
    };
    let answerKey = answerId; // the placeholder's id until the final message replaces it

    const onEvent = (event: SseEvent) => {
      if (event.event === 'message') {
        const message = parse<Message>(event.data);
        if (message?.id) {
          stored = true;
          replace(userId, message);
          onStored?.();
        }
      } else if (event.event === 'delta') {
        const delta = parse<{ text?: string }>(event.data);
        if (delta?.text) {
          text += delta.text;
          if (!shown) {
            shown = true;
            flush();
          } else if (pending.cancel === null) {
            pending.cancel = this.schedule(flush);
          }
        }
      } else if (event.event === 'done') {
        finished = true;
        const done = parse<DoneEvent>(event.data);
        const final: Message = done?.message?.id ? done.message : { ...placeholder, content: text, status: 'complete' };
        replace(answerKey, final);
        answerKey = final.id;
        this.announceSeq += 1;
        const seq = this.announceSeq;
        this.update(id, () => ({ announcement: { text: t('chat.answerReady', { text: final.content }), seq } }));
      } else if (event.event === 'error') {
        finished = true;
        const failed = parse<ErrorEvent>(event.data);
        const final: Message = failed?.message?.id ? failed.message : { ...placeholder, content: text, status: 'error' };
        replace(answerKey, final);
        answerKey = final.id;
        const error = new ApiError({ kind: 'http', status: 200, code: failed?.code || 'upstream_error', detail: failed?.detail ?? '' });
        this.update(id, () => ({ failure: { error, content, stored } }));
      }
    };

    try {
      const res = await this.api.sendMessage(id, model ? { content, model } : { content }, controller.signal);
      if (!res.body) throw new ApiError({ kind: 'network', code: 'network', detail: 'no response body' });
      await readEventStream(res.body, onEvent, controller.signal);
      if (pending.cancel !== null) {
        pending.cancel();
        flush();
      }
      if (!finished) {
        // The connection ended without done or error.
        replace(answerKey, { ...placeholder, content: text, status: 'error' });
        this.update(id, () => ({
          failure: { error: new ApiError({ kind: 'network', code: 'network', detail: t('error.streamBroken') }), content, stored },
        }));
      }
    } catch (e) {
      pending.cancel?.();
      const error = toApiError(e);
      if (error.kind === 'aborted' || controller.signal.aborted) {
        // Stopped by the user: the server keeps what it has with status "cancelled".
        if (!finished) replace(answerKey, { ...placeholder, content: text, status: 'cancelled' });
      } else if (!stored && !finished) {
        // Refused before anything was stored (429, 422, offline...): the message goes back
        // to the user with the reason.
        this.update(id, (th) => ({
          messages: th.messages.filter((m) => m.id !== userId && m.id !== answerId),
          failure: { error, content, stored: false },
        }));
      } else if (!finished) {
        replace(answerKey, { ...placeholder, content: text, status: 'error' });
        this.update(id, () => ({ failure: { error, content, stored } }));
      }
    } finally {
      this.controllers.delete(id);
      this.update(id, () => ({ streaming: false }));
      this.onActivity?.(id);
    }
  }
}

// Whether a page asked for newest first came oldest first (its server ignored ?order=desc).
function ascending(items: Message[]): boolean {
  if (items.length < 2) return false;
  const first = items[0]!;
  const last = items[items.length - 1]!;
  return first.created_at < last.created_at || (first.created_at === last.created_at && first.id < last.id);
}

function visible(messages: Message[]): Message[] {
  return messages.filter((m) => m.role !== 'system');
}

function parse<T>(data: string): T | null {
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}
