// The administration console (loaded on demand, for administrators): users, the audit log,
// usage and the signing keys, under /console (/admin/* is the API's). Anyone else gets a
// "Not allowed" page and the console makes no request; chatd refuses them all the same.
import { lazy, Suspense, useEffect, useMemo, useRef } from 'react';
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigationType } from 'react-router';
import { adminApi } from '../../api/admin';
import { AccountMenu } from '../../components/AccountMenu';
import { Spinner } from '../../components/Spinner';
import { t, type MessageKey } from '../../i18n';
import { useMediaQuery } from '../../lib/useMediaQuery';
import { useSessionManager, useSessionState } from '../../session/context';
import { AdminApiContext, HeadingFocus } from './common';
import { UsersPage } from './UsersPage';
import { UserPage } from './UserPage';
import { AuditPage } from './AuditPage';
import { KeysPage } from './KeysPage';
import '../../styles/console.css';

// The usage page brings Chart.js: it loads when it is opened.
const UsagePage = lazy(() => import('./UsagePage'));

const sections: { path: string; label: MessageKey }[] = [
  { path: '/console/users', label: 'console.section.users' },
  { path: '/console/audit', label: 'console.section.audit' },
  { path: '/console/usage', label: 'console.section.usage' },
  { path: '/console/keys', label: 'console.section.keys' },
];

export function isAdmin(roles: readonly string[] | undefined): boolean {
  return !!roles?.includes('admin');
}

export default function ConsoleApp() {
  const { user } = useSessionState();
  if (!isAdmin(user?.roles)) return <NotAllowed />;
  return <Console />;
}

function Console() {
  const session = useSessionManager();
  const api = useMemo(() => adminApi(session), [session]);
  const phone = useMediaQuery('(max-width: 767px)');
  const location = useLocation();
  const navigation = useNavigationType();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const focusHeading = useRef(false);

  // A move to another page of the console puts the focus on its heading, so that a screen
  // reader starts there (the first page load leaves focus alone; a new search does not move).
  useEffect(() => {
    if (first.current || navigation === 'REPLACE') {
      first.current = false;
      return; // the first page, or /console sent on to /console/users
    }
    const heading = main.current?.querySelector<HTMLElement>('h1');
    if (heading) heading.focus();
    else focusHeading.current = true; // the page is still loading: its heading takes it
  }, [location.pathname]);

  return (
    <AdminApiContext.Provider value={api}>
      <HeadingFocus.Provider value={focusHeading}>
        <div className="console">
          <div className="console-side">
            <div className="console-brand">
              <span className="brand-mark" aria-hidden="true" />
              <span>{t('console.title')}</span>
            </div>
            <nav className="side-nav console-nav" aria-label={t('console.nav')}>
              <ul>
                {sections.map((s) => (
                  <li key={s.path}>
                    <NavLink to={s.path}>{t(s.label)}</NavLink>
                  </li>
                ))}
              </ul>
            </nav>
            <div className="console-side-foot">
              <Link to="/" className="console-back">
                <span aria-hidden="true">← </span>
                {t('console.backToChat')}
              </Link>
              <AccountMenu placement={phone ? 'below' : 'above'} />
            </div>
          </div>
          <main ref={main} className="console-main">
            <Suspense fallback={<Spinner />}>
              <Routes>
                <Route index element={<Navigate to="/console/users" replace />} />
                <Route path="users" element={<UsersPage />} />
                <Route path="users/:id" element={<UserPage />} />
                <Route path="audit" element={<AuditPage />} />
                <Route path="usage" element={<UsagePage />} />
                <Route path="keys" element={<KeysPage />} />
                <Route path="*" element={<ConsoleNotFound />} />
              </Routes>
            </Suspense>
          </main>
        </div>
      </HeadingFocus.Provider>
    </AdminApiContext.Provider>
  );
}

function NotAllowed() {
  useEffect(() => {
    document.title = `${t('console.notAllowedTitle')} · ${t('app.name')}`;
  }, []);
  return (
    <div className="console-denied">
      <main className="console-denied-card">
        <h1>{t('console.notAllowedTitle')}</h1>
        <p>{t('console.notAllowedText')}</p>
        <p>
          <Link to="/">{t('console.notAllowedBack')}</Link>
        </p>
      </main>
    </div>
  );
}

function ConsoleNotFound() {
  useEffect(() => {
    document.title = `${t('notFound.title')} · ${t('console.title')} · ${t('app.name')}`;
  }, []);
  return (
    <>
      <h1 tabIndex={-1}>{t('notFound.title')}</h1>
      <p>{t('console.notFound')}</p>
    </>
  );
}
