// What the console's sections share: the admin API, the page's title and heading, errors,
// and the confirmation every action goes through.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { AdminApi } from '../../api/admin';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/Dialog';
import { t } from '../../i18n';
import { capitalise } from './format';

export const AdminApiContext = createContext<AdminApi | null>(null);

export function useAdminApi(): AdminApi {
  const api = useContext(AdminApiContext);
  if (!api) throw new Error('no AdminApiContext above this component');
  return api;
}

// "Users · Administration · chatd"
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · ${t('console.title')} · ${t('app.name')}`;
  }, [title]);
}

// Set by the console when it moves to another page: that page's heading takes the focus when
// it appears (at once, or once the page has loaded what it shows).
export const HeadingFocus = createContext<{ current: boolean }>({ current: false });

export function PageHeading({ children }: { children: ReactNode }) {
  const wanted = useContext(HeadingFocus);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!wanted.current) return;
    wanted.current = false;
    heading.current?.focus();
  }, [wanted]);
  return (
    <h1 ref={heading} className="console-title" tabIndex={-1}>
      {children}
    </h1>
  );
}

// An error in words: chatd's own message for a refused field ("administrators cannot
// disable themselves"), else errors.ts's sentence for the code.
export function errorText(error: unknown): string {
  if (error instanceof ApiError && error.code === 'validation_failed' && error.fields.length > 0) {
    return error.fields.map((f) => capitalise(f.message)).join(' ');
  }
  return errorMessage(error);
}

export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return <Alert kind="error">{errorText(error)}</Alert>;
}

// "Load more": the next page of a list.
export function LoadMore({ loading, onClick }: { loading: boolean; onClick: () => void }) {
  return (
    <p>
      <button type="button" className="button" onClick={onClick} disabled={loading} aria-busy={loading}>
        {t('console.loadMore')}
      </button>
    </p>
  );
}

// The polite live region where the outcome of an action is announced. It is always in the
// page (a region added with its text is not announced reliably).
export function StatusLine({ message }: { message: string }) {
  return (
    <div className={message ? 'alert alert-success' : 'console-status-empty'} role="status" aria-live="polite">
      {message}
    </div>
  );
}

export interface Confirmation {
  title: string;
  text: ReactNode;
  danger?: boolean;
  run: () => Promise<string>; // the action; resolves to the sentence that says it is done
}

// A pending confirmation: `ask` opens the dialog; Confirm runs the action, closes the
// dialog and puts its result in `status` (or its failure in `error`).
export function useConfirmation() {
  const [pending, setPending] = useState<Confirmation | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);

  const ask = (c: Confirmation) => {
    setError(null);
    setStatus('');
    setPending(c);
  };

  const dialog = pending && (
    <ConfirmDialog
      title={pending.title}
      confirmLabel={t('console.confirm')}
      cancelLabel={t('console.cancel')}
      danger={pending.danger ?? false}
      busy={busy}
      onCancel={() => !busy && setPending(null)}
      onConfirm={() => {
        setBusy(true);
        pending
          .run()
          .then((message) => setStatus(message))
          .catch((e: unknown) => setError(e))
          .finally(() => {
            setBusy(false);
            setPending(null);
            // The dialog gives focus back to what opened it; when that is gone (Unlock,
            // once the account is unlocked), the section's heading takes it.
            setTimeout(() => {
              if (document.activeElement === document.body) document.querySelector<HTMLElement>('.console-main h1')?.focus();
            });
          });
      }}
    >
      {pending.text}
    </ConfirmDialog>
  );

  return { ask, dialog, status, error, busy };
}
