// Security: the password, and two-factor authentication (TOTP) with its recovery codes.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { TwoFactorSetup } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { downloadText } from '../../lib/download';
import { useSessionManager, useSessionState } from '../../session/context';
import { PasswordRules, passwordLengthOk, passwordMax, passwordMin } from '../auth/PasswordRules';
import { CopyButton, fieldErrors, SecretField, SectionHeading, useAccountApi, useFormState } from './common';

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
  const [done, setDone] = useState(false);
  const { busy, error, local, edit, begin, refuse, send } = useFormState<{ current?: string; next?: string }>();
  const currentRef = useRef<HTMLInputElement>(null);
  const nextRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    if (!begin(event)) return;
    setDone(false);
    if (!current) return refuse({ current: t('settings.password.currentMissing') }, currentRef);
    if (!passwordLengthOk(next)) {
      return refuse({ next: t('register.passwordLength', { min: passwordMin, max: passwordMax }) }, nextRef);
    }
    await send(
      async () => {
        await api.changePassword(current, next);
        setCurrent('');
        setNext('');
        setDone(true);
      },
      (err) => {
        const fields = fieldErrors(err, labels());
        if (err.code === 'invalid_credentials' || fields['current_password']) currentRef.current?.focus();
        else if (fields['new_password']) nextRef.current?.focus();
      },
    );
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
          onChange={edit(setCurrent)}
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
          onChange={edit(setNext)}
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
  const { busy, error, local, edit, begin, refuse, send } = useFormState<{ code?: string }>();
  const codeRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    if (!begin(event)) return;
    const clean = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(clean)) return refuse({ code: t('settings.twoFactor.codeFormat') }, codeRef);
    await send(
      async () => {
        const { recovery_codes } = await api.verifyTwoFactor(clean);
        onVerified(recovery_codes);
      },
      () => {
        codeRef.current?.select();
        codeRef.current?.focus();
      },
    );
  }

  const codeError = local.code ?? (error?.code === 'invalid_otp' ? errorMessage(error) : undefined);
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
          <SecretField label={t('settings.twoFactor.secret')} value={setup.secret} />
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
              onChange={edit(setCode)}
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
  const { busy, error, local, edit, begin, refuse, send } = useFormState<{ password?: string; code?: string }>();
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    if (!begin(event)) return;
    if (!password) return refuse({ password: t('settings.password.currentMissing') }, passwordRef);
    if (!code.trim()) return refuse({ code: t('settings.twoFactor.codeMissing') }, codeRef);
    await send(
      async () => {
        await api.disableTwoFactor(password, code.trim());
        setPassword('');
        setCode('');
        onDisabled();
      },
      (err) => {
        if (err.code === 'invalid_credentials') passwordRef.current?.focus();
        else if (err.code === 'invalid_otp') codeRef.current?.focus();
      },
    );
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
          onChange={edit(setPassword)}
          error={passwordError}
          required
        />
        <Field
          ref={codeRef}
          label={t('settings.twoFactor.code')}
          name="code"
          autoComplete="one-time-code"
          value={code}
          onChange={edit(setCode)}
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
