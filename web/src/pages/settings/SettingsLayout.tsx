// The settings area (loaded on demand): a navigation of its sections and the section of the
// current route, /settings/<section>. The usage section, which brings the chart library, is
// loaded when it is opened.
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate, useNavigationType } from 'react-router';
import { Spinner } from '../../components/Spinner';
import { t, type MessageKey } from '../../i18n';
import '../../styles/settings.css';
import { ApiKeysSection } from './ApiKeysSection';
import { SectionFocus, useAccountApi } from './common';
import { InvitationsSection } from './InvitationsSection';
import { ProfileSection } from './ProfileSection';
import { SecuritySection } from './SecuritySection';
import { SessionsSection } from './SessionsSection';

const UsageSection = lazy(() => import('./UsageSection'));

interface Section {
  path: string;
  label: MessageKey;
}

const sections: Section[] = [
  { path: 'profile', label: 'settings.nav.profile' },
  { path: 'security', label: 'settings.nav.security' },
  { path: 'sessions', label: 'settings.nav.sessions' },
  { path: 'api-keys', label: 'settings.nav.apiKeys' },
  { path: 'invitations', label: 'settings.nav.invitations' },
  { path: 'usage', label: 'settings.nav.usage' },
];

export default function SettingsLayout() {
  const api = useAccountApi();
  const location = useLocation();
  const navigationType = useNavigationType();
  // Whether this user may invite (GET /invitations says so): null while asking.
  const [canInvite, setCanInvite] = useState<boolean | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api.invitations({ limit: 1 }, controller.signal).then(
      (page) => setCanInvite(page.can_create === true),
      () => {
        if (!controller.signal.aborted) setCanInvite(false);
      },
    );
    return () => controller.abort();
  }, [api]);

  // Focus goes to a section's heading when the user moved there from another section, not
  // on the page's first section (nor after the redirect from /settings).
  const firstPath = useRef(location.pathname);
  const moved = useRef(false);
  if (location.pathname !== firstPath.current && navigationType !== 'REPLACE') moved.current = true;
  const focus = useMemo(() => ({ moved: moved.current }), [location.pathname]);

  const shown = sections.filter((s) => s.path !== 'invitations' || canInvite === true);

  return (
    <div className="settings-page">
      <header className="settings-header">
        <Link to="/" className="settings-back">
          <span aria-hidden="true">← </span>
          {t('settings.backToChat')}
        </Link>
        <h1>{t('settings.title')}</h1>
      </header>
      <div className="settings-body">
        <nav className="side-nav settings-nav" aria-label={t('settings.nav')}>
          <ul>
            {shown.map((s) => (
              <li key={s.path}>
                <NavLink to={`/settings/${s.path}`}>{t(s.label)}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main className="settings-main">
          <SectionFocus.Provider value={focus}>
            <Suspense fallback={<Spinner />}>
              <Routes>
                <Route index element={<ProfileAtIndex />} />
                <Route path="profile" element={<ProfileSection />} />
                <Route path="security" element={<SecuritySection />} />
                <Route path="sessions" element={<SessionsSection />} />
                <Route path="api-keys" element={<ApiKeysSection />} />
                <Route
                  path="invitations"
                  element={
                    canInvite === null ? (
                      <Spinner />
                    ) : canInvite ? (
                      <InvitationsSection onCannotCreate={() => setCanInvite(false)} />
                    ) : (
                      <Navigate to="/settings/profile" replace />
                    )
                  }
                />
                <Route path="usage" element={<UsageSection />} />
                <Route path="*" element={<Navigate to="/settings/profile" replace />} />
              </Routes>
            </Suspense>
          </SectionFocus.Provider>
        </main>
      </div>
    </div>
  );
}

// /settings is the profile: shown at once, in the page's first paint, then under its own
// address.
function ProfileAtIndex() {
  const navigate = useNavigate();
  useEffect(() => {
    navigate('/settings/profile', { replace: true });
  }, [navigate]);
  return <ProfileSection />;
}
