// Settings (loaded on demand). For now: who is signed in, the theme, and ending every
// session; the rest of the account's settings come later.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { errorMessage, toApiError, type ApiError } from '../api/errors';
import { useTheme } from '../components/AccountMenu';
import { Alert } from '../components/Alert';
import { t } from '../i18n';
import { setTheme, themes } from '../lib/theme';
import { useSessionManager, useSessionState } from '../session/context';
import '../styles/settings.css';

export default function SettingsPage() {
  const session = useSessionManager();
  const { user } = useSessionState();
  const theme = useTheme();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    document.title = `${t('settings.title')} · ${t('app.name')}`;
  }, []);

  const signOutEverywhere = async () => {
    setBusy(true);
    setError(null);
    try {
      await session.logoutEverywhere();
    } catch (e) {
      setError(toApiError(e));
      setBusy(false);
    }
  };

  return (
    <div className="settings-page">
      <main className="settings-card">
        <p>
          <Link to="/">
            <span aria-hidden="true">← </span>
            {t('settings.backToChat')}
          </Link>
        </p>
        <h1>{t('settings.title')}</h1>

        <section aria-labelledby="settings-account">
          <h2 id="settings-account">{t('settings.account')}</h2>
          <dl className="settings-facts">
            <dt>{t('settings.email')}</dt>
            <dd>{user?.email}</dd>
            <dt>{t('settings.username')}</dt>
            <dd>{user?.username}</dd>
            <dt>{t('settings.twoFactor')}</dt>
            <dd>{user?.totp_enabled ? t('settings.twoFactorOn') : t('settings.twoFactorOff')}</dd>
          </dl>
          <p className="muted">{t('settings.more')}</p>
        </section>

        <section aria-labelledby="settings-appearance">
          <h2 id="settings-appearance">{t('settings.appearance')}</h2>
          <fieldset className="theme-choice">
            <legend>{t('settings.theme')}</legend>
            {themes.map((th) => (
              <label key={th}>
                <input type="radio" name="theme" value={th} checked={theme === th} onChange={() => setTheme(th)} />
                {t(`theme.${th}`)}
              </label>
            ))}
          </fieldset>
        </section>

        <section aria-labelledby="settings-sessions">
          <h2 id="settings-sessions">{t('settings.sessions')}</h2>
          <p className="muted">{t('settings.signOutEverywhereHelp')}</p>
          {error && <Alert kind="error">{errorMessage(error)}</Alert>}
          <button type="button" className="button button-danger" onClick={() => void signOutEverywhere()} disabled={busy} aria-busy={busy}>
            {t('settings.signOutEverywhere')}
          </button>
        </section>
      </main>
    </div>
  );
}
