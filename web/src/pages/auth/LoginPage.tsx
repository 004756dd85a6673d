import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { usePublicApi, useSessionManager, useSessionState } from '../../session/context';
import { AuthLayout } from './AuthLayout';

type Step = 'credentials' | 'otp';

export function LoginPage() {
  const session = useSessionManager();
  const { reason, startError } = useSessionState();
  const api = usePublicApi();
  const [params] = useSearchParams();
  const [step, setStep] = useState<Step>('credentials');
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [otp, setOtp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [resent, setResent] = useState<'no' | 'sent' | 'need-email'>('no');
  const otpRef = useRef<HTMLInputElement>(null);
  const loginRef = useRef<HTMLInputElement>(null);

  // The first field of each step takes the focus, as a person expects of a sign-in page.
  useEffect(() => {
    if (step === 'otp') otpRef.current?.focus();
    else loginRef.current?.focus();
  }, [step]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setResent('no');
    try {
      await session.login(login.trim(), password, step === 'otp' ? otp.trim() : undefined);
      // Signed in: the route sends the user on (to ?next= or the chat).
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'otp_required') {
        setStep('otp');
      } else {
        setError(err);
        if (step === 'otp' && err.code === 'invalid_otp') otpRef.current?.select();
      }
    } finally {
      setBusy(false);
    }
  }

  async function resendVerification() {
    const email = login.trim();
    if (!email.includes('@')) {
      setResent('need-email');
      loginRef.current?.focus();
      return;
    }
    try {
      await api.requestVerification(email);
      setResent('sent');
    } catch (e) {
      setError(toApiError(e));
    }
  }

  function back() {
    setStep('credentials');
    setOtp('');
    setPassword('');
    setError(null);
  }

  const fields = fieldMessages(error);
  const generalError = error && !fields['login'] && !fields['password'] && !fields['otp'] ? error : null;
  const registerLink = `/register${params.get('next') ? `?next=${encodeURIComponent(params.get('next')!)}` : ''}`;

  if (step === 'otp') {
    const otpError = error ? (fields['otp'] ?? errorMessage(error, 'login')) : undefined;
    return (
      <AuthLayout title={t('login.otpTitle')} subtitle={t('login.otpHelp')}>
        <form onSubmit={submit} noValidate>
          <Field
            ref={otpRef}
            label={t('field.otp')}
            name="otp"
            value={otp}
            onChange={(e) => setOtp(e.target.value)}
            autoComplete="one-time-code"
            inputMode="text"
            autoCapitalize="none"
            spellCheck={false}
            required
            error={otpError}
          />
          <button type="submit" className="button button-primary button-wide" disabled={busy || !otp.trim()}>
            {t('login.otpSubmit')}
          </button>
        </form>
        <p className="auth-links">
          <button type="button" className="link-button" onClick={back}>
            {t('login.otpBack')}
          </button>
        </p>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={t('login.title')} subtitle={t('login.subtitle')}>
      {reason === 'ended' && !error && <Alert kind="info">{t('login.sessionEnded')}</Alert>}
      {startError && !error && (
        <Alert kind="error">
          {t('login.offline')} {errorMessage(startError)}{' '}
          <button type="button" className="link-button" onClick={() => void session.resume()}>
            {t('login.retry')}
          </button>
        </Alert>
      )}
      <form onSubmit={submit} noValidate>
        <Field
          ref={loginRef}
          label={t('field.login')}
          name="login"
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          error={fields['login']}
        />
        <Field
          label={t('field.password')}
          name="password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          required
          error={fields['password']}
        />
        {generalError && (
          <Alert kind="error">
            {errorMessage(generalError, 'login')}
            {generalError.code === 'email_not_verified' && (
              <>
                {' '}
                <button type="button" className="link-button" onClick={() => void resendVerification()}>
                  {t('login.resendVerification')}
                </button>
              </>
            )}
          </Alert>
        )}
        {resent === 'sent' && <Alert kind="success">{t('login.verificationSent')}</Alert>}
        {resent === 'need-email' && <Alert kind="info">{t('login.enterEmailToResend')}</Alert>}
        <button type="submit" className="button button-primary button-wide" disabled={busy} aria-busy={busy}>
          {t('login.submit')}
        </button>
      </form>
      <p className="auth-links">
        <Link to="/forgot">{t('login.forgot')}</Link>
      </p>
      <p className="auth-links">
        {t('login.noAccount')} <Link to={registerLink}>{t('login.register')}</Link>
      </p>
    </AuthLayout>
  );
}
