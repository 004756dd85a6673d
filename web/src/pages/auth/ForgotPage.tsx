import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { usePublicApi } from '../../session/context';
import { AuthLayout } from './AuthLayout';

export function ForgotPage() {
  const api = usePublicApi();
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setSent(false);
    try {
      await api.requestPasswordReset(email.trim());
      setSent(true);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }

  const fields = fieldMessages(error);
  return (
    <AuthLayout title={t('forgot.title')} subtitle={t('forgot.help')}>
      <form onSubmit={submit} noValidate>
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
        {sent && <Alert kind="success">{t('forgot.sent')}</Alert>}
        <button type="submit" className="button button-primary button-wide" disabled={busy || !email.trim()} aria-busy={busy}>
          {t('forgot.submit')}
        </button>
      </form>
      <p className="auth-links">
        <Link to="/login">{t('forgot.back')}</Link>
      </p>
    </AuthLayout>
  );
}
