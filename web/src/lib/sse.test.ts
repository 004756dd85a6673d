// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { readEventStream, SseParser, type SseEvent } from './sse';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

async function read(chunks: Uint8Array[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  await readEventStream(streamOf(chunks), (e) => events.push(e));
  return events;
}

function splitAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.slice(from, cut));
    from = cut;
  }
  return out;
}

// What chatd sends for one answer: the stored user message, deltas (one holding a
// character of four UTF-8 bytes, one of three, one of two), heartbeats, the end.
const wire =
  ': keep-alive\n\n' +
  'event: message\ndata: {"id":"m1","role":"user","content":"héllo"}\n\n' +
  'event: delta\ndata: {"text":"Hi 😀"}\n\n' +
  ':\n\n' +
  'event: delta\ndata: {"text":" 世界 ünï"}\n\n' +
  'event: done\ndata: {"message":{"id":"m2"},"usage":{"prompt_tokens":3}}\n\n';

const expected: SseEvent[] = [
  { event: 'message', data: '{"id":"m1","role":"user","content":"héllo"}', id: undefined },
  { event: 'delta', data: '{"text":"Hi 😀"}', id: undefined },
  { event: 'delta', data: '{"text":" 世界 ünï"}', id: undefined },
  { event: 'done', data: '{"message":{"id":"m2"},"usage":{"prompt_tokens":3}}', id: undefined },
];

describe('readEventStream', () => {
  const bytes = new TextEncoder().encode(wire);

  it('reads a stream in one chunk', async () => {
    expect(await read([bytes])).toEqual(expected);
  });

  it('reads the same events however the bytes are cut in two', async () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(await read(splitAt(bytes, cut)), `cut at byte ${cut}`).toEqual(expected);
    }
  });

  it('reads the same events cut in three anywhere', async () => {
    // Every pair of cuts near the multi-byte characters, and a stride over the rest.
    const emoji = wire.indexOf('😀');
    const start = new TextEncoder().encode(wire.slice(0, emoji)).length;
    for (let a = start - 3; a <= start + 12; a++) {
      for (let b = a; b <= bytes.length; b += 7) {
        expect(await read(splitAt(bytes, a, b)), `cuts at ${a} and ${b}`).toEqual(expected);
      }
    }
  });

  it('reads a stream delivered one byte at a time', async () => {
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await read(chunks)).toEqual(expected);
  });

  it('reads CRLF and CR line ends, also with CR and LF in different chunks', async () => {
    const crlf = new TextEncoder().encode(wire.replace(/\n/g, '\r\n'));
    for (let cut = 0; cut <= crlf.length; cut++) {
      expect(await read(splitAt(crlf, cut)), `CRLF cut at ${cut}`).toEqual(expected);
    }
    const cr = new TextEncoder().encode(wire.replace(/\n/g, '\r'));
    expect(await read(splitAt(cr, 17, 40))).toEqual(expected);
  });

  it('never lets a broken UTF-8 character through as a replacement character', async () => {
    const events = await read(Array.from(bytes, (b) => Uint8Array.of(b)));
    for (const e of events) expect(e.data).not.toContain('\uFFFD');
  });

  it('stops with an AbortError when its signal aborts', async () => {
    const controller = new AbortController();
    let pull = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pull += 1;
        c.enqueue(new TextEncoder().encode(`event: delta\ndata: {"text":"${pull}"}\n\n`));
      },
    });
    const seen: SseEvent[] = [];
    const done = readEventStream(
      endless,
      (e) => {
        seen.push(e);
        if (seen.length === 3) controller.abort();
      },
      controller.signal,
    );
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen.length).toBe(3);
  });
});

describe('SseParser', () => {
  it('joins multi-line data with newlines and strips one leading space only', () => {
    const p = new SseParser();
    const out = p.push('data: first\ndata:  second\ndata\ndata:third\n\n');
    expect(out).toEqual([{ event: 'message', data: 'first\n second\n\nthird', id: undefined }]);
  });

  it('skips comments, counts them, and ignores unknown fields and retry', () => {
    const p = new SseParser();
    const out = p.push(': one\n:two\nretry: 1000\nfoo: bar\nevent: delta\ndata: x\n\n');
    expect(out).toEqual([{ event: 'delta', data: 'x', id: undefined }]);
    expect(p.comments).toBe(2);
  });

  it('dispatches nothing for an event without data, and resets its type', () => {
    const p = new SseParser();
    expect(p.push('event: delta\n\ndata: y\n\n')).toEqual([{ event: 'message', data: 'y', id: undefined }]);
  });

  it('keeps the last event id', () => {
    const p = new SseParser();
    expect(p.push('id: 7\nevent: delta\ndata: a\n\ndata: b\n\n')).toEqual([
      { event: 'delta', data: 'a', id: '7' },
      { event: 'message', data: 'b', id: '7' },
    ]);
  });

  it('drops an event the stream ended before finishing', () => {
    const p = new SseParser();
    expect(p.push('event: delta\ndata: partial')).toEqual([]);
    p.end();
    expect(p.push('\n\n')).toEqual([]);
  });

  it('strips a byte order mark at the start only', () => {
    const p = new SseParser();
    expect(p.push('\uFEFFdata: a\n\n')).toEqual([{ event: 'message', data: 'a', id: undefined }]);
    expect(p.push('data: \uFEFFb\n\n')).toEqual([{ event: 'message', data: '\uFEFFb', id: undefined }]);
  });

  it('treats a field name without a colon as a field with an empty value', () => {
    const p = new SseParser();
    expect(p.push('event\ndata\n\n')).toEqual([{ event: 'message', data: '', id: undefined }]);
  });
});
