// Security: the password, and two-factor authentication (TOTP) with its recovery codes.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { TwoFactorSetup } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { useSessionManager, useSessionState } from '../../session/context';
import { PasswordRules, passwordLengthOk, passwordMax, passwordMin } from '../auth/PasswordRules';
import { CopyButton, downloadText, fieldErrors, SectionHeading, useAccountApi } from './common';

export function SecuritySection() {
  return (
    <section aria-labelledby="settings-security-title" className="settings-section">
      <SectionHeading title={t('settings.nav.security')} id="settings-security-title" />
      <ChangePassword />
      <TwoFactor />
    </section>
  );
}

function ChangePassword() {
  const api = useAccountApi();
  const { user } = useSessionState();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<{ current?: string; next?: string }>({});
  const currentRef = useRef<HTMLInputElement>(null);
  const nextRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    setDone(false);
    if (!current) {
      setLocal({ current: t('settings.password.currentMissing') });
      currentRef.current?.focus();
      return;
    }
    if (!passwordLengthOk(next)) {
      setLocal({ next: t('register.passwordLength', { min: passwordMin, max: passwordMax }) });
      nextRef.current?.focus();
      return;
    }
    setLocal({});
    setBusy(true);
    try {
      await api.changePassword(current, next);
      setCurrent('');
      setNext('');
      setDone(true);
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      const fields = fieldErrors(err, labels());
      if (err.code === 'invalid_credentials' || fields['current_password']) currentRef.current?.focus();
      else if (fields['new_password']) nextRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  const labels = () => ({ current_password: t('settings.password.current'), new_password: t('field.newPassword') });
  const fields = fieldErrors(error, labels());
  const currentError =
    local.current ?? fields['current_password'] ?? (error?.code === 'invalid_credentials' ? t('settings.password.currentWrong') : undefined);
  const nextError = local.next ?? fields['new_password'];
  const general = error && !currentError && !nextError ? error : null;

  return (
    <section className="settings-block">
      <h3>{t('settings.password.title')}</h3>
      <form onSubmit={submit} noValidate className="settings-form">
        {/* For password managers: the account whose password this is. */}
        <input type="text" name="username" autoComplete="username" hidden readOnly value={user?.username ?? ''} />
        <Field
          ref={currentRef}
          label={t('settings.password.current')}
          name="current_password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => {
            setCurrent(e.target.value);
            setLocal({});
          }}
          error={currentError}
          required
        />
        <Field
          ref={nextRef}
          label={t('field.newPassword')}
          name="new_password"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(e) => {
            setNext(e.target.value);
            setLocal({});
          }}
          help={<PasswordRules password={next} id="settings-new-password-rules" />}
          error={nextError}
          required
        />
        {general && <Alert kind="error">{errorMessage(general)}</Alert>}
        {done && <Alert kind="success">{t('settings.password.changed')}</Alert>}
        <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy}>
          {t('settings.password.submit')}
        </button>
      </form>
    </section>
  );
}

type TwoFactorStep = { kind: 'idle' } | { kind: 'setup'; setup: TwoFactorSetup } | { kind: 'codes'; codes: string[] };

function TwoFactor() {
  const api = useAccountApi();
  const session = useSessionManager();
  const { user } = useSessionState();
  const [step, setStep] = useState<TwoFactorStep>({ kind: 'idle' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const enabled = user?.totp_enabled === true;

  // The user as the server sees it now (after a change made here or elsewhere).
  const refreshUser = async (totp: boolean) => {
    if (user) session.setUser({ ...user, totp_enabled: totp });
    try {
      session.setUser((await api.me()).user);
    } catch {
      // The local change stands.
    }
  };

  async function enable() {
    if (busy) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setStep({ kind: 'setup', setup: await api.setupTwoFactor() });
    } catch (e) {
      const err = toApiError(e);
      if (err.code === 'conflict') {
        // Enabled meanwhile (in another tab): show it as it is.
        await refreshUser(true);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  const stepKey = step.kind;
  useEffect(() => {
    // Each new step's heading takes the focus, so that it is read first.
    if (stepKey !== 'idle') heading.current?.focus();
  }, [stepKey]);

  return (
    <section className="settings-block">
      <h3>{t('settings.twoFactor.title')}</h3>
      <p className="muted">{t('settings.twoFactor.help')}</p>
      {notice && <Alert kind="success">{notice}</Alert>}

      {step.kind === 'idle' && !enabled && (
        <>
          <p>
            <span className="status-pill status-off">{t('settings.twoFactorOff')}</span>
          </p>
          {error && <Alert kind="error">{errorMessage(error)}</Alert>}
          <button type="button" className="button button-primary" onClick={() => void enable()} disabled={busy} aria-busy={busy}>
            {t('settings.twoFactor.enable')}
          </button>
        </>
      )}

      {step.kind === 'setup' && (
        <TwoFactorSetupStep
          setup={step.setup}
          headingRef={heading}
          onCancel={() => setStep({ kind: 'idle' })}
          onVerified={(codes) => {
            setStep({ kind: 'codes', codes });
            void refreshUser(true);
          }}
        />
      )}

      {step.kind === 'codes' && (
        <RecoveryCodes
          codes={step.codes}
          username={user?.username ?? ''}
          headingRef={heading}
          onDone={() => {
            setStep({ kind: 'idle' });
            setNotice(t('settings.twoFactor.enabled'));
          }}
        />
      )}

      {step.kind === 'idle' && enabled && (
        <DisableTwoFactor
          onDisabled={() => {
            setNotice(t('settings.twoFactor.disabled'));
            void refreshUser(false);
          }}
        />
      )}
    </section>
  );
}

function qrSource(svg: string): string {
  // The page's CSP allows data: images (img-src 'self' data:), not blob: ones.
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

function TwoFactorSetupStep({
  setup,
  headingRef,
  onCancel,
  onVerified,
}: {
  setup: TwoFactorSetup;
  headingRef: React.RefObject<HTMLHeadingElement | null>;
  onCancel: () => void;
  onVerified: (codes: string[]) => void;
}) {
  const api = useAccountApi();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<string | undefined>();
  const codeRef = useRef<HTMLInputElement>(null);
  const secretRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const clean = code.replace(/\s+/g, '');
    setError(null);
    if (!/^\d{6}$/.test(clean)) {
      setLocal(t('settings.twoFactor.codeFormat'));
      codeRef.current?.focus();
      return;
    }
    setLocal(undefined);
    setBusy(true);
    try {
      const { recovery_codes } = await api.verifyTwoFactor(clean);
      onVerified(recovery_codes);
    } catch (e) {
      setError(toApiError(e));
      codeRef.current?.select();
      codeRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  const codeError = local ?? (error?.code === 'invalid_otp' ? errorMessage(error) : undefined);
  const general = error && !codeError ? error : null;
  return (
    <div className="twofa-setup">
      <h4 ref={headingRef} tabIndex={-1}>
        {t('settings.twoFactor.setupTitle')}
      </h4>
      <ol className="twofa-steps">
        <li>
          <p>{t('settings.twoFactor.scan')}</p>
          <img className="qr" src={qrSource(setup.qr_svg)} alt={t('settings.twoFactor.qrAlt')} width={200} height={200} />
        </li>
        <li>
          <p>{t('settings.twoFactor.manual')}</p>
          <div className="copy-row">
            <Field
              ref={secretRef}
              label={t('settings.twoFactor.secret')}
              className="secret-field"
              readOnly
              value={setup.secret}
              spellCheck={false}
              autoComplete="off"
              onFocus={(e) => e.currentTarget.select()}
            />
            <CopyButton text={setup.secret} fallback={() => secretRef.current} />
          </div>
        </li>
        <li>
          <form onSubmit={submit} noValidate className="settings-form">
            <Field
              ref={codeRef}
              label={t('settings.twoFactor.code')}
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={8}
              value={code}
              onChange={(e) => {
                setCode(e.target.value);
                setLocal(undefined);
              }}
              help={t('settings.twoFactor.codeHelp')}
              error={codeError}
              required
            />
            {general && <Alert kind="error">{errorMessage(general)}</Alert>}
            <div className="settings-actions">
              <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy}>
                {t('settings.twoFactor.verify')}
              </button>
              <button type="button" className="button" onClick={onCancel}>
                {t('settings.cancel')}
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

function RecoveryCodes({
  codes,
  username,
  headingRef,
  onDone,
}: {
  codes: string[];
  username: string;
  headingRef: React.RefObject<HTMLHeadingElement | null>;
  onDone: () => void;
}) {
  const text = codes.join('\n');
  const file = [
    t('settings.recovery.fileTitle', { username, origin: window.location.origin }),
    t('settings.recovery.fileHelp'),
    '',
    ...codes,
    '',
  ].join('\n');
  return (
    <div className="recovery">
      <h4 ref={headingRef} tabIndex={-1}>
        {t('settings.recovery.title')}
      </h4>
      <Alert kind="info">{t('settings.recovery.warning')}</Alert>
      <ol className="recovery-codes" aria-label={t('settings.recovery.listLabel')}>
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      <div className="settings-actions">
        <CopyButton text={text} className="button" />
        <button type="button" className="button" onClick={() => downloadText('chatd-recovery-codes.txt', file)}>
          {t('settings.recovery.download')}
        </button>
        <button type="button" className="button button-primary" onClick={onDone}>
          {t('settings.recovery.done')}
        </button>
      </div>
    </div>
  );
}

function DisableTwoFactor({ onDisabled }: { onDisabled: () => void }) {
  const api = useAccountApi();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<{ password?: string; code?: string }>({});
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    if (!password) {
      setLocal({ password: t('settings.password.currentMissing') });
      passwordRef.current?.focus();
      return;
    }
    if (!code.trim()) {
      setLocal({ code: t('settings.twoFactor.codeMissing') });
      codeRef.current?.focus();
      return;
    }
    setLocal({});
    setBusy(true);
    try {
      await api.disableTwoFactor(password, code.trim());
      setPassword('');
      setCode('');
      onDisabled();
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      if (err.code === 'invalid_credentials') passwordRef.current?.focus();
      else if (err.code === 'invalid_otp') codeRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  const fields = fieldErrors(error, { password: t('field.password'), code: t('settings.twoFactor.code') });
  const passwordError =
    local.password ?? fields['password'] ?? (error?.code === 'invalid_credentials' ? t('settings.password.wrong') : undefined);
  const codeError = local.code ?? fields['code'] ?? (error?.code === 'invalid_otp' ? errorMessage(error) : undefined);
  const general = error && !passwordError && !codeError ? error : null;

  return (
    <>
      <p>
        <span className="status-pill status-on">{t('settings.twoFactorOn')}</span>
      </p>
      <form onSubmit={submit} noValidate className="settings-form">
        <p>{t('settings.twoFactor.disableHelp')}</p>
        <Field
          ref={passwordRef}
          label={t('field.password')}
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
            setLocal({});
          }}
          error={passwordError}
          required
        />
        <Field
          ref={codeRef}
          label={t('settings.twoFactor.code')}
          name="code"
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => {
            setCode(e.target.value);
            setLocal({});
          }}
          help={t('settings.twoFactor.disableCodeHelp')}
          error={codeError}
          required
        />
        {general && <Alert kind="error">{errorMessage(general)}</Alert>}
        <button type="submit" className="button button-danger" disabled={busy} aria-busy={busy}>
          {t('settings.twoFactor.disable')}
        </button>
      </form>
    </>
  );
}
