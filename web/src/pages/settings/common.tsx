// What the settings sections share: the account API, dates in words, the section's heading
// (document title, focus after a move between sections), loading a resource, Copy.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { accountApi, type AccountApi } from '../../api/account';
import { toApiError, type ApiError } from '../../api/errors';
import { duration, t, type MessageKey } from '../../i18n';
import { useSessionManager } from '../../session/context';

export function useAccountApi(): AccountApi {
  const session = useSessionManager();
  return useMemo(() => accountApi(session), [session]);
}

// "12 Mar 2025, 14:05" in the reader's locale and time zone; null as "Never".
export function formatDateTime(iso: string | null | undefined, never: MessageKey = 'settings.never'): string {
  if (!iso) return t(never);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(iso: string | null | undefined, never: MessageKey = 'settings.never'): string {
  if (!iso) return t(never);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

// "in 5 hours", "5 hours ago": the distance from now, rounded to the nearest unit.
export function fromNow(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  const seconds = Math.abs(ms) / 1000;
  let text: string;
  if (seconds < 45) text = t('settings.time.moments');
  else if (seconds < 3600) text = duration(Math.round(seconds / 60) * 60);
  else if (seconds < 86400) text = duration(Math.round(seconds / 3600) * 3600);
  else {
    const days = Math.round(seconds / 86400);
    text = days === 1 ? t('settings.time.day') : t('settings.time.days', { n: days });
  }
  return ms >= 0 ? t('settings.time.in', { when: text }) : t('settings.time.ago', { when: text });
}

// Whether the user moved here from another section: the settings layout sets it, so that
// the first section after a page load leaves focus where the browser put it.
export const SectionFocus = createContext<{ moved: boolean }>({ moved: false });

// The section's heading: the document's title, and the keyboard focus after a move from
// another section (a screen reader then reads where the user is).
export function SectionHeading({ title, id, children }: { title: string; id: string; children?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const focus = useContext(SectionFocus);
  useEffect(() => {
    document.title = `${title} · ${t('settings.title')} · ${t('app.name')}`;
  }, [title]);
  useEffect(() => {
    if (focus.moved) ref.current?.focus();
  }, [focus]);
  return (
    <div className="settings-section-head">
      <h2 ref={ref} id={id} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </div>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
  set: (update: (data: T | null) => T | null) => void;
}

// Loads `load()` on mount and on reload(); the answer of an abandoned load is dropped.
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loader.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setError(toApiError(e));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload, set: setData };
}

// Copies `text` to the clipboard and says so in a live region. Where the clipboard is not
// available (an http page, a refused permission), `fallback` (usually the field holding the
// text) gets selected and the words tell the user to copy it themselves.
export function CopyButton({
  text,
  fallback,
  label = t('settings.copy'),
  className = 'button button-small',
}: {
  text: string;
  fallback?: () => HTMLInputElement | HTMLTextAreaElement | null;
  label?: string;
  className?: string;
}) {
  const [said, setSaid] = useState('');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const say = (words: string) => {
    setSaid(words);
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setSaid(''), 4000);
  };
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      say(t('settings.copied'));
    } catch {
      const field = fallback?.();
      if (field) {
        field.focus();
        field.select();
      }
      say(t('settings.copyByHand'));
    }
  };
  return (
    <span className="copy">
      <button type="button" className={className} onClick={() => void copy()}>
        {label}
      </button>
      <span className="copy-status" role="status">
        {said}
      </span>
    </span>
  );
}

// The text a screen reader and the eye read for a number of tokens or dollars.
export function formatNumber(n: number): string {
  return n.toLocaleString(undefined);
}

export function formatCost(usd: number): string {
  const digits = usd !== 0 && Math.abs(usd) < 0.01 ? 4 : 2;
  return usd.toLocaleString(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// Field name -> text for a form's fields (labels of this form: the server's field names
// differ from the register form's), the first message of a field winning; a message that
// reads as a predicate ("must be...") is led by the field's label.
export function fieldErrors(error: ApiError | null, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!error) return out;
  for (const f of error.fields) {
    if (f.field in out) continue;
    const message = f.message.trim();
    const label = labels[f.field] ?? f.field;
    out[f.field] = /^[a-z]/.test(message) ? t('error.field', { label, message }) : message;
  }
  return out;
}

// Offers `text` as a file download, through an object URL: the text never leaves the browser.
export function downloadText(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the next task; a minute leaves slow browsers room.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
