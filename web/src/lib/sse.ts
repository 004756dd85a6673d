// A reader of Server-Sent Events (the WHATWG event-stream format) from a fetch body, written
// here because EventSource can neither POST nor send an Authorization header.

export interface SseEvent {
  event: string; // "message" when the stream named none
  data: string;
  id: string | undefined;
}

// Turns text, in chunks cut anywhere, into events. Lines end with CRLF, LF or CR; a CR at
// the end of one chunk and an LF at the start of the next are one line end.
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private eventType = '';
  private lastId: string | undefined;
  private atStart = true;
  private skipLineFeed = false;
  comments = 0; // heartbeats seen, for whoever wants to know the stream is alive

  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    if (text.length === 0) return out;
    if (this.skipLineFeed) {
      this.skipLineFeed = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const buffer = this.buffer + text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLineFeed = true;
        }
      }
      start = i + 1;
    }
    this.buffer = buffer.slice(start);
    return out;
  }

  // The stream ended: an event without its closing blank line is dropped, as the format says.
  end(): void {
    this.buffer = '';
    this.data = [];
    this.eventType = '';
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.data.length > 0) out.push({ event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId });
      this.data = [];
      this.eventType = '';
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.comments += 1;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default: // retry and unknown fields: nothing to do for a fetch-based reader
        break;
    }
  }
}

// Reads `body` to its end (or until `signal` aborts, which rejects with an AbortError),
// calling onEvent for each event. UTF-8 characters cut between chunks are put together.
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  const onAbort = () => {
    reader.cancel().catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal?.aborted) throw new DOMException('The stream was stopped', 'AbortError');
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
    }
    if (signal?.aborted) throw new DOMException('The stream was stopped', 'AbortError');
    for (const event of parser.push(decoder.decode())) onEvent(event);
    parser.end();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}
