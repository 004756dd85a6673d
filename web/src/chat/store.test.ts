// @vitest-environment node
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/errors';
import type { Message, Page } from '../api/types';
import { ChatStore } from './store';

function message(id: string, role: Message['role'], content: string, status: Message['status'] = 'complete'): Message {
  return { id, role, content, model: 'demo', status, created_at: '2025-01-01T00:00:00Z', usage: null };
}

// A response body the test writes into, event by event.
function controlledStream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    event(name: string, data: unknown) {
      controller.enqueue(encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`));
    },
    close() {
      controller.close();
    },
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function storeWith(send: (signal: AbortSignal) => Promise<Response>, pages: Page<Message>[] = []) {
  const calls: { cursor: string | null | undefined; limit: number | undefined; order: string | undefined }[] = [];
  const api = {
    messages: vi.fn(async (_id: string, params: { limit?: number; cursor?: string | null; order?: 'asc' | 'desc' }) => {
      calls.push({ cursor: params.cursor, limit: params.limit, order: params.order });
      const index = params.cursor ? Number(params.cursor) : 0;
      return pages[index]!;
    }),
    sendMessage: vi.fn(async (_id: string, _body: { content: string }, signal: AbortSignal) => send(signal)),
  };
  return { store: new ChatStore(api), api, calls };
}

function at(id: string, role: Message['role'], content: string, second: number): Message {
  return { ...message(id, role, content), created_at: `2025-01-01T00:00:${String(second).padStart(2, '0')}Z` };
}

describe('ChatStore.load', () => {
  it('opens on the newest page and loads older pages on demand, keeping the order', async () => {
    const pages: Page<Message>[] = [
      { items: [at('6', 'assistant', 'f', 6), at('5', 'user', 'e', 5)], next_cursor: '1' },
      { items: [at('4', 'assistant', 'd', 4), at('3', 'system', 'hidden', 3), at('2', 'user', 'b', 2)], next_cursor: '2' },
      { items: [at('1', 'user', 'a', 1)], next_cursor: null },
    ];
    const { store, calls } = storeWith(async () => new Response(), pages);
    await store.load('c1');
    expect(calls).toEqual([{ cursor: undefined, limit: 50, order: 'desc' }]);
    expect(store.thread('c1').messages.map((m) => m.id)).toEqual(['5', '6']);
    expect(store.thread('c1').older).toBe('1');

    await store.loadOlder('c1');
    expect(store.thread('c1').messages.map((m) => m.id)).toEqual(['2', '4', '5', '6']);
    await store.loadOlder('c1');
    expect(store.thread('c1').messages.map((m) => m.id)).toEqual(['1', '2', '4', '5', '6']);
    expect(store.thread('c1').older).toBeNull();
    await store.loadOlder('c1'); // nothing more to load
    expect(calls).toEqual([
      { cursor: undefined, limit: 50, order: 'desc' },
      { cursor: '1', limit: 100, order: 'desc' },
      { cursor: '2', limit: 100, order: 'desc' },
    ]);
    expect(store.thread('c1').status).toBe('ready');
  });

  it('reads every page forwards from a server that ignores ?order=desc', async () => {
    const pages: Page<Message>[] = [
      { items: [at('1', 'user', 'a', 1), at('2', 'assistant', 'b', 2)], next_cursor: '1' },
      { items: [at('3', 'user', 'c', 3)], next_cursor: null },
    ];
    const { store, calls } = storeWith(async () => new Response(), pages);
    await store.load('c1');
    expect(store.thread('c1').messages.map((m) => m.id)).toEqual(['1', '2', '3']);
    expect(store.thread('c1').older).toBeNull();
    expect(calls[1]).toEqual({ cursor: '1', limit: 100, order: undefined });
  });
});

describe('ChatStore.send', () => {
  it('streams an answer into the thread and announces it once, when complete', async () => {
    const s = controlledStream();
    const { store } = storeWith(async () => s.response);
    const activity = vi.fn();
    store.onActivity = activity;
    const announcements: string[] = [];
    store.subscribe(() => {
      const a = store.thread('c1').announcement;
      if (a && !announcements.includes(`${a.seq}:${a.text}`)) announcements.push(`${a.seq}:${a.text}`);
    });

    const done = store.send('c1', 'Hello');
    expect(store.thread('c1').streaming).toBe(true);
    expect(store.thread('c1').messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'Hello', 'complete'],
      ['assistant', '', 'streaming'],
    ]);

    s.event('message', message('u1', 'user', 'Hello'));
    s.event('delta', { text: 'Hi ' });
    s.event('delta', { text: 'there' });
    await wait(80);
    const partial = store.thread('c1').messages;
    expect(partial[0]!.id).toBe('u1');
    expect(partial[1]!.content).toBe('Hi there');
    expect(announcements).toEqual([]); // nothing is announced while the answer grows

    s.event('done', { message: message('a1', 'assistant', 'Hi there'), usage: { prompt_tokens: 1, completion_tokens: 2 } });
    s.close();
    await done;
    const thread = store.thread('c1');
    expect(thread.streaming).toBe(false);
    expect(thread.messages.map((m) => m.id)).toEqual(['u1', 'a1']);
    expect(thread.failure).toBeNull();
    expect(announcements).toEqual(['1:Answer: Hi there']);
    expect(activity).toHaveBeenCalledWith('c1');
  });

  it('keeps a failed answer with its text, and Retry sends the message again', async () => {
    const first = controlledStream();
    const second = controlledStream();
    const responses = [first.response, second.response];
    const { store, api } = storeWith(async () => responses.shift()!);
    const sending = store.send('c1', 'Question');
    first.event('message', message('u1', 'user', 'Question'));
    first.event('delta', { text: 'Part' });
    first.event('error', { code: 'upstream_timeout', detail: 'slow', message: message('a1', 'assistant', 'Part', 'error') });
    first.close();
    await sending;
    let thread = store.thread('c1');
    expect(thread.messages.map((m) => [m.id, m.status, m.content])).toEqual([
      ['u1', 'complete', 'Question'],
      ['a1', 'error', 'Part'],
    ]);
    expect(thread.failure?.error.code).toBe('upstream_timeout');
    expect(thread.failure?.content).toBe('Question');

    const retrying = store.retry('c1');
    expect(store.thread('c1').failure).toBeNull();
    second.event('message', message('u2', 'user', 'Question'));
    second.event('done', { message: message('a2', 'assistant', 'Answer') });
    second.close();
    await retrying;
    thread = store.thread('c1');
    expect(api.sendMessage).toHaveBeenCalledTimes(2);
    expect(api.sendMessage.mock.calls[1]![1]).toEqual({ content: 'Question' });
    expect(thread.messages.map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
  });

  it('stops on demand, keeping the partial answer as cancelled', async () => {
    const s = controlledStream();
    let seen: AbortSignal | null = null;
    const { store } = storeWith(async (signal) => {
      seen = signal;
      return s.response;
    });
    const sending = store.send('c1', 'Tell me a story');
    s.event('message', message('u1', 'user', 'Tell me a story'));
    s.event('delta', { text: 'Once upon' });
    await wait(80);
    store.stop('c1');
    await sending;
    expect(seen!.aborted).toBe(true);
    const thread = store.thread('c1');
    expect(thread.streaming).toBe(false);
    expect(thread.failure).toBeNull();
    expect(thread.messages[1]).toMatchObject({ status: 'cancelled', content: 'Once upon' });
  });

  it('gives the message back with the reason when the server refuses it (429)', async () => {
    const refused = new ApiError({ kind: 'http', status: 429, code: 'rate_limited', retryAfter: 30 });
    const { store } = storeWith(async () => {
      throw refused;
    });
    await store.send('c1', 'Too fast');
    const thread = store.thread('c1');
    expect(thread.messages).toEqual([]);
    expect(thread.failure).toEqual({ error: refused, content: 'Too fast', stored: false });
    expect(thread.streaming).toBe(false);
  });

  it('reports a stream that ended without done or error', async () => {
    const s = controlledStream();
    const { store } = storeWith(async () => s.response);
    const sending = store.send('c1', 'Hi');
    s.event('message', message('u1', 'user', 'Hi'));
    s.event('delta', { text: 'Half' });
    s.close();
    await sending;
    const thread = store.thread('c1');
    expect(thread.messages[1]).toMatchObject({ status: 'error', content: 'Half' });
    expect(thread.failure?.error.kind).toBe('network');
  });
});
