import { useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { usePublicApi } from '../../session/context';
import { AuthLayout } from './AuthLayout';
import { PasswordRules, passwordLengthOk, passwordMax, passwordMin } from './PasswordRules';

const usernamePattern = /^[A-Za-z0-9_.-]{3,32}$/;

export function RegisterPage() {
  const api = usePublicApi();
  const [email, setEmail] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  // An invitation's e-mail links to /register?invite=<code>.
  const [params] = useSearchParams();
  const [invite, setInvite] = useState(() => params.get('invite') ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [registered, setRegistered] = useState<string | null>(null);
  const refs = {
    email: useRef<HTMLInputElement>(null),
    username: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    invite_code: useRef<HTMLInputElement>(null),
  };

  // A field's own complaint goes once the user edits it.
  function forget(name: string) {
    setLocal((fields) => {
      if (!(name in fields)) return fields;
      const { [name]: _gone, ...rest } = fields;
      return rest;
    });
  }

  function check(): Record<string, string> {
    const out: Record<string, string> = {};
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) out['email'] = t('register.emailInvalid');
    if (!usernamePattern.test(username.trim())) out['username'] = t('register.usernameInvalid');
    if (!passwordLengthOk(password)) out['password'] = t('register.passwordLength', { min: passwordMin, max: passwordMax });
    return out;
  }

  function focusFirst(fields: Record<string, string>) {
    for (const name of ['email', 'username', 'password', 'invite_code'] as const) {
      if (fields[name]) {
        refs[name].current?.focus();
        return;
      }
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const problems = check();
    setLocal(problems);
    setError(null);
    if (Object.keys(problems).length > 0) {
      focusFirst(problems);
      return;
    }
    setBusy(true);
    try {
      const body: { email: string; username: string; password: string; invite_code?: string } = {
        email: email.trim(),
        username: username.trim(),
        password,
      };
      if (invite.trim()) body.invite_code = invite.trim();
      await api.register(body);
      setRegistered(email.trim());
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      const fields = fieldMessages(err);
      if (err.code === 'forbidden') refs.invite_code.current?.focus();
      else focusFirst(fields);
    } finally {
      setBusy(false);
    }
  }

  if (registered) return <CheckEmail email={registered} />;

  const server = fieldMessages(error);
  const fields = { ...server, ...local };
  // Invite-only registration answers 403: the invitation code is what to fix.
  if (error?.code === 'forbidden' && !fields['invite_code']) fields['invite_code'] = errorMessage(error, 'register');
  const shown = new Set(['email', 'username', 'password', 'invite_code']);
  const general = error && error.code !== 'forbidden' && !Object.keys(server).some((f) => shown.has(f)) ? error : null;

  return (
    <AuthLayout title={t('register.title')} subtitle={t('register.subtitle')}>
      <form onSubmit={submit} noValidate>
        <Field
          ref={refs.email}
          label={t('field.email')}
          name="email"
          type="email"
          value={email}
          onChange={(e) => {
            setEmail(e.target.value);
            forget('email');
          }}
          autoComplete="email"
          required
          error={fields['email']}
        />
        <Field
          ref={refs.username}
          label={t('field.username')}
          name="username"
          value={username}
          onChange={(e) => {
            setUsername(e.target.value);
            forget('username');
          }}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          help={t('register.usernameHelp')}
          error={fields['username']}
        />
        <Field
          ref={refs.password}
          label={t('field.password')}
          name="password"
          type="password"
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
            forget('password');
          }}
          autoComplete="new-password"
          required
          help={<PasswordRules password={password} id="password-rules" />}
          error={fields['password']}
        />
        <Field
          ref={refs.invite_code}
          label={t('field.inviteCode')}
          name="invite_code"
          value={invite}
          onChange={(e) => {
            setInvite(e.target.value);
            forget('invite_code');
          }}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          optional
          help={t('register.inviteHelp')}
          error={fields['invite_code']}
        />
        {general && <Alert kind="error">{errorMessage(general, 'register')}</Alert>}
        <button type="submit" className="button button-primary button-wide" disabled={busy} aria-busy={busy}>
          {t('register.submit')}
        </button>
      </form>
      <p className="auth-links">
        {t('register.haveAccount')} <Link to="/login">{t('register.signIn')}</Link>
      </p>
    </AuthLayout>
  );
}

// After registering: the account waits for its e-mail address to be confirmed.
function CheckEmail({ email }: { email: string }) {
  const api = usePublicApi();
  const [state, setState] = useState<'idle' | 'busy' | 'sent'>('idle');
  const [error, setError] = useState<ApiError | null>(null);

  async function resend() {
    setState('busy');
    setError(null);
    try {
      await api.requestVerification(email);
      setState('sent');
    } catch (e) {
      setError(toApiError(e));
      setState('idle');
    }
  }

  return (
    <AuthLayout title={t('register.checkEmailTitle')}>
      <p>{t('register.checkEmailText', { email })}</p>
      {state === 'sent' && <Alert kind="success">{t('register.resent')}</Alert>}
      {error && <Alert kind="error">{errorMessage(error)}</Alert>}
      <div className="auth-actions">
        <button type="button" className="button" onClick={() => void resend()} disabled={state === 'busy'}>
          {t('register.resend')}
        </button>
        <Link className="button button-primary" to="/login">
          {t('register.toSignIn')}
        </Link>
      </div>
    </AuthLayout>
  );
}
