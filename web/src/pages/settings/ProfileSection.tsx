// Profile: who is signed in, and the theme.
import { useEffect } from 'react';
import { useTheme } from '../../components/AccountMenu';
import { t } from '../../i18n';
import { setTheme, themes } from '../../lib/theme';
import { useSessionManager, useSessionState } from '../../session/context';
import { formatDateTime, SectionHeading, useAccountApi } from './common';

export function ProfileSection() {
  const api = useAccountApi();
  const session = useSessionManager();
  const { user } = useSessionState();
  const theme = useTheme();

  // The session's copy of the user dates from the last refresh: read it again.
  useEffect(() => {
    let live = true;
    api.me().then(
      ({ user: fresh }) => {
        if (live) session.setUser(fresh);
      },
      () => undefined, // the session's copy is shown
    );
    return () => {
      live = false;
    };
  }, [api, session]);

  return (
    <section aria-labelledby="settings-profile-title" className="settings-section">
      <SectionHeading title={t('settings.nav.profile')} id="settings-profile-title" />
      {/* settings-facts has no style of its own: the browser tests find the profile's facts by it. */}
      <dl className="facts settings-facts">
        <dt>{t('settings.email')}</dt>
        <dd>{user?.email}</dd>
        <dt>{t('settings.username')}</dt>
        <dd>{user?.username}</dd>
        <dt>{t('settings.profile.verified')}</dt>
        <dd>{user?.email_verified ? t('settings.profile.verifiedYes') : t('settings.profile.verifiedNo')}</dd>
        <dt>{t('settings.profile.roles')}</dt>
        <dd>{user && user.roles.length > 0 ? user.roles.join(', ') : t('settings.profile.noRoles')}</dd>
        <dt>{t('settings.twoFactor.title')}</dt>
        <dd>{user?.totp_enabled ? t('settings.twoFactorOn') : t('settings.twoFactorOff')}</dd>
        <dt>{t('settings.profile.memberSince')}</dt>
        <dd>{formatDateTime(user?.created_at)}</dd>
        <dt>{t('settings.profile.lastLogin')}</dt>
        <dd>{formatDateTime(user?.last_login_at)}</dd>
      </dl>

      <div className="settings-block">
        <h3>{t('settings.appearance')}</h3>
        <fieldset className="theme-choice">
          <legend>{t('settings.theme')}</legend>
          {themes.map((th) => (
            <label key={th}>
              <input type="radio" name="theme" value={th} checked={theme === th} onChange={() => setTheme(th)} />
              {t(`theme.${th}`)}
            </label>
          ))}
        </fieldset>
      </div>
    </section>
  );
}
