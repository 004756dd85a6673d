import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../../api/errors';
import type { User } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { usePublicApi, useSessionManager } from '../../session/context';
import { AuthLayout } from './AuthLayout';

// A token is single-use: React's development double mount, or a re-render, must not send
// it twice, so each token's request is made once and shared.
const confirmations = new Map<string, Promise<{ user: User }>>();

type State = { kind: 'busy' } | { kind: 'done'; user: User } | { kind: 'failed'; error: ApiError | null };

// The landing page of the e-mail's link (/verify?token=...).
export function VerifyPage() {
  const api = usePublicApi();
  const session = useSessionManager();
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [state, setState] = useState<State>(token ? { kind: 'busy' } : { kind: 'failed', error: null });

  useEffect(() => {
    if (!token) return;
    let live = true;
    let pending = confirmations.get(token);
    if (!pending) {
      pending = api.confirmVerification(token);
      confirmations.set(token, pending);
    }
    pending.then(
      ({ user }) => {
        session.setUser(user);
        if (live) setState({ kind: 'done', user });
      },
      (e: unknown) => {
        if (live) setState({ kind: 'failed', error: toApiError(e) });
      },
    );
    return () => {
      live = false;
    };
  }, [api, session, token]);

  return (
    <AuthLayout title={t('verify.title')}>
      {state.kind === 'busy' && (
        <p role="status" className="muted">
          {t('verify.busy')}
        </p>
      )}
      {state.kind === 'done' && (
        <>
          <Alert kind="success">{t('verify.done', { email: state.user.email })}</Alert>
          <div className="auth-actions">
            <Link className="button button-primary" to="/login">
              {t('verify.toSignIn')}
            </Link>
          </div>
        </>
      )}
      {state.kind === 'failed' && (
        <>
          <Alert kind="error">
            {state.error ? `${t('verify.failed')} ${errorMessage(state.error, 'token')}` : t('verify.missingToken')}
          </Alert>
          <RequestLink />
        </>
      )}
    </AuthLayout>
  );
}

function RequestLink() {
  const api = usePublicApi();
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.requestVerification(email.trim());
      setSent(true);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }

  const fields = fieldMessages(error);
  return (
    <form onSubmit={submit} noValidate className="auth-subform">
      <h2>{t('verify.requestTitle')}</h2>
      <Field
        label={t('field.email')}
        name="email"
        type="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        autoComplete="email"
        required
        error={fields['email']}
      />
      {error && !fields['email'] && <Alert kind="error">{errorMessage(error)}</Alert>}
      {sent && <Alert kind="success">{t('verify.requestSent')}</Alert>}
      <button type="submit" className="button button-primary button-wide" disabled={busy || !email.trim()} aria-busy={busy}>
        {t('verify.requestSubmit')}
      </button>
      <p className="auth-links">
        <Link to="/login">{t('verify.toSignIn')}</Link>
      </p>
    </form>
  );
}
