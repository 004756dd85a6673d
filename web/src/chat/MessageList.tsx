import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Message } from '../api/types';
import { IconArrowDown } from '../components/Icons';
import { t } from '../i18n';
import { Markdown } from './Markdown';

// Only a window of a long conversation is in the DOM: it opens on the last `initialCount`
// messages, grows by `step` as the user scrolls towards either end, and never holds more
// than `cap` (the far end is dropped). What the user looks at keeps its place on screen
// when messages are added or dropped above it. `step` is small so that rendering the
// markdown of the messages it adds stays well inside one 50 ms task; the window keeps
// growing, a step per task, while the view is within `edge` of its end.
export const initialCount = 24;
export const step = 8;
export const cap = 120;
const edge = 600; // px from an end at which the window moves
const bottomSlack = 48; // px from the bottom that still count as "at the bottom"

export interface Range {
  start: number;
  end: number;
}

// The window after the list changed from `before` to `n` messages, `prepended` of them
// older ones put in front (-1: the list was replaced by another).
export function nextRange(range: Range, before: number, n: number, following: boolean, prepended = 0): Range {
  if (prepended < 0 || before === 0 || n < before) return { start: Math.max(0, n - initialCount), end: n };
  const start = range.start + prepended;
  if (range.end >= before) return { start: following ? Math.max(start, n - cap) : start, end: n };
  return { start, end: range.end + prepended };
}

interface MessageListProps {
  messages: Message[];
  // Changes when the user sends: the list jumps to the end and follows the answer.
  followSignal: number;
  // Older messages on the server, loaded when the user reaches the top.
  hasOlder?: boolean;
  loadingOlder?: boolean;
  onLoadOlder?: () => void;
}

export function MessageList({ messages, followSignal, hasOlder = false, loadingOlder = false, onLoadOlder }: MessageListProps) {
  const n = messages.length;
  const first = messages[0]?.id;
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState<Range>(() => ({ start: Math.max(0, n - initialCount), end: n }));
  const [seen, setSeen] = useState({ n, first });
  const [showJump, setShowJump] = useState(false);
  const following = useRef(true);
  const anchor = useRef<{ id: string; offset: number } | null>(null);

  // Derived during render (not in an effect) so the first paint already shows the window.
  let current = range;
  if (seen.n !== n || seen.first !== first) {
    // Older messages put in front keep the window on the same messages (and the same place).
    const prepended = seen.first === first || seen.first === undefined ? 0 : messages.findIndex((m) => m.id === seen.first);
    current = nextRange(range, seen.n, n, following.current, prepended);
    setSeen({ n, first });
    setRange(current);
  }

  const toBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);

  // The first message whose bottom is below the top of the view, and where it is.
  const captureAnchor = () => {
    const el = scroller.current;
    if (!el) return null;
    const top = el.getBoundingClientRect().top;
    for (const item of Array.from(el.querySelectorAll<HTMLElement>('[data-id]'))) {
      const box = item.getBoundingClientRect();
      if (box.bottom > top) return { id: item.dataset['id'] ?? '', offset: box.top - top };
    }
    return null;
  };

  const move = (next: Range) => {
    if (next.start === current.start && next.end === current.end) return;
    anchor.current = captureAnchor();
    setRange(next);
  };

  // Keep the anchor where it was, or follow the end.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const a = anchor.current;
    anchor.current = null;
    if (a) {
      const item = Array.from(el.querySelectorAll<HTMLElement>('[data-id]')).find((x) => x.dataset['id'] === a.id);
      if (item) el.scrollTop += item.getBoundingClientRect().top - el.getBoundingClientRect().top - a.offset;
      return;
    }
    if (following.current && current.end === n) toBottom();
  }, [current, messages, n, toBottom]);

  // Content that changes height on its own (fonts, a code block's highlighting) while the
  // user is at the bottom keeps them there.
  useEffect(() => {
    const inner = content.current;
    if (!inner || typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(() => {
      if (following.current) toBottom();
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, [toBottom]);

  // A new message of the user's: back to the end.
  const lastSignal = useRef(followSignal);
  useLayoutEffect(() => {
    if (lastSignal.current === followSignal) return;
    lastSignal.current = followSignal;
    following.current = true;
    setShowJump(false);
    setRange({ start: Math.max(0, n - initialCount), end: n });
  }, [followSignal, n]);

  // Near an end of the window: move it, or load older messages when it is at the first one.
  const checkEdges = () => {
    const el = scroller.current;
    if (!el) return;
    const distance = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (el.scrollTop < edge && current.start === 0 && hasOlder && !loadingOlder) onLoadOlder?.();
    if (el.scrollTop < edge && current.start > 0) {
      const start = Math.max(0, current.start - step);
      move({ start, end: Math.min(current.end, start + cap) });
    } else if (distance < edge && current.end < n) {
      const end = Math.min(n, current.end + step);
      move({ start: Math.max(current.start, end - cap), end });
    }
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const distance = el.scrollHeight - el.scrollTop - el.clientHeight;
    const atEnd = current.end === n;
    following.current = atEnd && distance <= bottomSlack;
    setShowJump(!atEnd || distance > bottomSlack * 4);
    checkEdges();
  };

  // The same check once older messages arrived or a load ended: a reader already at the top
  // sends no scroll event (the view cannot scroll further up), and would wait there forever.
  useEffect(() => {
    if (!following.current) checkEdges();
    // checkEdges reads the current render's values; these are what can change them.
  }, [current.start, current.end, n, hasOlder, loadingOlder]);

  const jump = () => {
    following.current = true;
    setShowJump(false);
    setRange({ start: Math.max(0, n - initialCount), end: n });
    requestAnimationFrame(toBottom);
  };

  // A first page too short to scroll cannot reach the top by scrolling: load on.
  useEffect(() => {
    const el = scroller.current;
    if (el && hasOlder && !loadingOlder && current.start === 0 && el.scrollHeight <= el.clientHeight + edge) onLoadOlder?.();
  }, [hasOlder, loadingOlder, current.start, n, onLoadOlder]);

  const visible = messages.slice(current.start, current.end);
  return (
    <div className="message-area">
      <div
        ref={scroller}
        className="message-scroller"
        onScroll={onScroll}
        onWheel={(e) => {
          if (e.deltaY < 0) following.current = false;
        }}
        tabIndex={-1}
      >
        <section ref={content} className="message-column" aria-label={t('chat.messages')}>
          {current.start === 0 && loadingOlder && (
            <p className="older-note" role="status">
              {t('chat.loadingOlder')}
            </p>
          )}
          {visible.map((m) => (
            <MessageView key={m.id} message={m} />
          ))}
        </section>
      </div>
      {showJump && (
        <button type="button" className="jump-latest" onClick={jump}>
          <IconArrowDown /> {t('chat.jumpToLatest')}
        </button>
      )}
    </div>
  );
}

export const MessageView = memo(function MessageView({ message }: { message: Message }) {
  const isUser = message.role === 'user';
  return (
    <article
      className={`message ${isUser ? 'message-user' : 'message-assistant'}`}
      aria-label={isUser ? t('chat.you') : t('chat.assistant')}
      data-id={message.id}
    >
      {isUser ? (
        <div className="user-bubble">{message.content}</div>
      ) : (
        <div className="assistant-body" aria-busy={message.status === 'streaming' ? true : undefined}>
          {message.content ? (
            <Markdown text={message.content} final={message.status !== 'streaming'} />
          ) : message.status === 'streaming' ? (
            <p className="thinking">
              <span className="dots" aria-hidden="true">
                <span />
                <span />
                <span />
              </span>
              <span className="visually-hidden">{t('chat.thinking')}</span>
            </p>
          ) : null}
          {message.status === 'cancelled' && <p className="message-note">{t('chat.cancelled')}</p>}
          {message.status === 'error' && <p className="message-note message-note-error">{t('chat.failed')}</p>}
        </div>
      )}
    </article>
  );
});
