import { useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { usePublicApi } from '../../session/context';
import { AuthLayout } from './AuthLayout';
import { PasswordRules, passwordLengthOk, passwordMax, passwordMin } from './PasswordRules';

// The landing page of the reset e-mail's link (/reset?token=...).
export function ResetPage() {
  const api = usePublicApi();
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<string | undefined>();
  const input = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    if (!passwordLengthOk(password)) {
      setLocal(t('register.passwordLength', { min: passwordMin, max: passwordMax }));
      input.current?.focus();
      return;
    }
    setLocal(undefined);
    setBusy(true);
    try {
      await api.confirmPasswordReset(token, password);
      setDone(true);
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      if (fieldMessages(err)['new_password']) input.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <AuthLayout title={t('reset.title')}>
        <Alert kind="error">{t('reset.missingToken')}</Alert>
        <p className="auth-links">
          <Link to="/forgot">{t('reset.requestNew')}</Link>
        </p>
      </AuthLayout>
    );
  }

  if (done) {
    return (
      <AuthLayout title={t('reset.title')}>
        <Alert kind="success">{t('reset.done')}</Alert>
        <div className="auth-actions">
          <Link className="button button-primary" to="/login">
            {t('reset.toSignIn')}
          </Link>
        </div>
      </AuthLayout>
    );
  }

  const fields = fieldMessages(error);
  const fieldError = local ?? fields['new_password'] ?? fields['password'];
  const general = error && !fields['new_password'] && !fields['password'] ? error : null;
  return (
    <AuthLayout title={t('reset.title')}>
      <form onSubmit={submit} noValidate>
        <Field
          ref={input}
          label={t('field.newPassword')}
          name="new_password"
          type="password"
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
            setLocal(undefined);
          }}
          autoComplete="new-password"
          required
          help={<PasswordRules password={password} id="new-password-rules" />}
          error={fieldError}
        />
        {general && (
          <Alert kind="error">
            {errorMessage(general, 'token')}
            {general.code === 'invalid_token' && (
              <>
                {' '}
                <Link to="/forgot">{t('reset.requestNew')}</Link>
              </>
            )}
          </Alert>
        )}
        <button type="submit" className="button button-primary button-wide" disabled={busy} aria-busy={busy}>
          {t('reset.submit')}
        </button>
      </form>
    </AuthLayout>
  );
}
