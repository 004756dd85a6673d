// What the settings sections share: the account API, dates in words, the section's heading
// (document title, focus after a move between sections), loading a resource, Copy, a secret
// shown once, the items of a list and the confirmation of a delete.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ChangeEvent, type FormEvent, type ReactNode, type RefObject } from 'react';
import { accountApi, type AccountApi } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/Dialog';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { duration, t, type MessageKey } from '../../i18n';
import type { ConfirmedDelete } from '../../lib/useConfirmedDelete';
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

// What a load shows before it has data: a spinner while it loads, its error with Retry.
export function LoadState({ loaded }: { loaded: Pick<Loaded<unknown>, 'data' | 'error' | 'loading' | 'reload'> }) {
  if (loaded.data) return null;
  return (
    <>
      {loaded.loading && <Spinner label={t('settings.loading')} />}
      {loaded.error && (
        <Alert kind="error">
          {errorMessage(loaded.error)}{' '}
          <button type="button" className="link-button" onClick={loaded.reload}>
            {t('settings.retry')}
          </button>
        </Alert>
      )}
    </>
  );
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

// A secret (an API key, an invitation link, the 2FA setup key) in a read-only field that
// selects itself on focus, with Copy beside it.
export function SecretField({ label, value }: { label: string; value: string }) {
  const ref = useRef<HTMLInputElement>(null);
  return (
    <div className="copy-row">
      <Field
        ref={ref}
        label={label}
        className="secret-field"
        readOnly
        value={value}
        spellCheck={false}
        autoComplete="off"
        onFocus={(e) => e.currentTarget.select()}
      />
      <CopyButton text={value} fallback={() => ref.current} />
    </div>
  );
}

// What was just created and is shown this once (a new API key, an invitation): its heading
// takes the focus, and a Done button closes it.
export function ShownOnce({
  id,
  title,
  doneLabel,
  onDone,
  children,
}: {
  id: string;
  title: string;
  doneLabel: string;
  onDone: () => void;
  children: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <div className="new-secret settings-block" role="region" aria-labelledby={id}>
      <h3 id={id} ref={heading} tabIndex={-1}>
        {title}
      </h3>
      {children}
      <div className="settings-actions">
        <button type="button" className="button button-primary" onClick={onDone}>
          {doneLabel}
        </button>
      </div>
    </div>
  );
}

// One item of a section's list (a key, an invitation, a session), named by its title: the
// title and a badge, its facts, and its action (`children`, described by the title: pass it
// `aria-describedby={id}`).
export function SettingsItem({
  id,
  title,
  badge,
  facts,
  children,
}: {
  id: string;
  title: ReactNode;
  badge?: ReactNode;
  facts: [term: string, value: ReactNode][];
  children: ReactNode;
}) {
  return (
    <li className="settings-item" aria-labelledby={id}>
      <div className="settings-item-head">
        <span className="settings-item-title" id={id}>
          {title}
        </span>
        {badge}
      </div>
      <dl className="settings-item-facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {children}
    </li>
  );
}

// The confirmation of a delete (useConfirmedDelete), with its failure inside.
export function ConfirmDelete<T>({ deletion, title, children }: { deletion: ConfirmedDelete<T>; title: string; children: ReactNode }) {
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={t('settings.confirm')}
      cancelLabel={t('settings.cancel')}
      danger
      busy={deletion.busy}
      onConfirm={() => void deletion.confirm()}
      onCancel={deletion.cancel}
    >
      {children}
      {deletion.error && <Alert kind="error">{errorMessage(deletion.error)}</Alert>}
    </ConfirmDialog>
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

// A form's state: `busy` while it is sent, the server's `error`, and the `local` errors found
// before sending, which any edit clears.
export function useFormState<Local extends object>() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Local>({} as Local);

  // An input's onChange: takes the value and clears the local errors.
  const edit =
    <V extends string>(set: (value: V) => void) =>
    (event: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
      set(event.target.value as V);
      setLocal({} as Local);
    };

  // A submit's start: false while the form is being sent (do nothing); else the last answer's
  // error is cleared.
  const begin = (event: FormEvent) => {
    event.preventDefault();
    if (busy) return false;
    setError(null);
    return true;
  };

  // A value refused before sending: the words at its field, and the focus there.
  const refuse = (errors: Local, field: RefObject<HTMLInputElement | null>) => {
    setLocal(errors);
    field.current?.focus();
  };

  // Sends: runs `action` while busy; a failure goes into `error`, then to `onError` (to move
  // the focus).
  async function send(action: () => Promise<void>, onError?: (error: ApiError) => void) {
    setLocal({} as Local);
    setBusy(true);
    try {
      await action();
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      onError?.(err);
    } finally {
      setBusy(false);
    }
  }

  return { busy, error, local, edit, begin, refuse, send };
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
