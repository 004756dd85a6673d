import { useSyncExternalStore } from 'react';
import { useNavigate } from 'react-router';
import { t } from '../i18n';
import { currentTheme, setTheme, subscribeTheme, themes, type Theme } from '../lib/theme';
import { useSessionManager, useSessionState } from '../session/context';
import { Menu } from './Menu';

const themeLabel: Record<Theme, Parameters<typeof t>[0]> = {
  light: 'theme.light',
  dark: 'theme.dark',
  system: 'theme.system',
};

export function useTheme(): Theme {
  return useSyncExternalStore(subscribeTheme, currentTheme, currentTheme);
}

// The user's menu: settings, the theme, signing out.
export function AccountMenu({ placement = 'above' }: { placement?: 'above' | 'below' }) {
  const session = useSessionManager();
  const { user } = useSessionState();
  const navigate = useNavigate();
  const theme = useTheme();
  const name = user?.username ?? '';
  return (
    <div className="account">
      <Menu
        label={t('account.button')}
        buttonClassName="account-button"
        placement={placement}
        align="start"
        buttonContent={
          <>
            <span className="avatar" aria-hidden="true">
              {name.slice(0, 1).toUpperCase()}
            </span>
            <span className="account-text">
              <span className="account-label">{t('account.button')}</span>
              <span className="account-name">{name}</span>
            </span>
          </>
        }
        entries={[
          { label: t('account.settings'), onSelect: () => navigate('/settings') },
          ...(user?.roles.includes('admin') ? [{ label: t('console.link'), onSelect: () => navigate('/console') }] : []),
          {
            kind: 'group',
            label: t('account.theme'),
            entries: themes.map((th) => ({
              kind: 'radio' as const,
              label: t(themeLabel[th]),
              checked: theme === th,
              onSelect: () => setTheme(th),
            })),
          },
          { kind: 'separator' },
          { label: t('account.signOut'), onSelect: () => void session.logout() },
        ]}
      />
    </div>
  );
}
