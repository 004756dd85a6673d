import { lazy, Suspense, type ReactNode } from 'react';
import { Navigate, Outlet, Route, Routes, useLocation, useSearchParams } from 'react-router';
import { Spinner } from './components/Spinner';
import { ForgotPage } from './pages/auth/ForgotPage';
import { LoginPage } from './pages/auth/LoginPage';
import { RegisterPage } from './pages/auth/RegisterPage';
import { ResetPage } from './pages/auth/ResetPage';
import { VerifyPage } from './pages/auth/VerifyPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { useSessionState } from './session/context';

// The chat and the settings are loaded only once someone is signed in: the sign-in pages
// stay small, and markdown, KaTeX and highlight.js come with the chat.
const ChatApp = lazy(() => import('./chat/ChatApp'));
const SettingsLayout = lazy(() => import('./pages/settings/SettingsLayout'));
// The administration console (and Chart.js with it) only for those who open it.
const ConsoleApp = lazy(() => import('./pages/console/ConsoleApp'));

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<SignedOutOnly><LoginPage /></SignedOutOnly>} />
      <Route path="/register" element={<SignedOutOnly><RegisterPage /></SignedOutOnly>} />
      {/* The e-mails' links (/verify, /reset); earlier versions of chatd named /verify-email and
          /reset-password, so links already in mailboxes keep working. */}
      <Route path="/verify" element={<VerifyPage />} />
      <Route path="/verify-email" element={<VerifyPage />} />
      <Route path="/forgot" element={<ForgotPage />} />
      <Route path="/reset" element={<ResetPage />} />
      <Route path="/reset-password" element={<ResetPage />} />
      <Route element={<RequireAuth />}>
        <Route element={<Deferred><ChatApp /></Deferred>}>
          <Route path="/" element={null} />
          <Route path="/chat/:id" element={null} />
        </Route>
        <Route path="/settings/*" element={<Deferred><SettingsLayout /></Deferred>} />
        <Route path="/console/*" element={<Deferred><ConsoleApp /></Deferred>} />
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}

function Deferred({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Spinner />}>{children}</Suspense>;
}

// Where to go after signing in: a path of this app given as ?next=, else the chat.
export function nextPath(params: URLSearchParams): string {
  const next = params.get('next');
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')) return next;
  return '/';
}

function RequireAuth() {
  const { status } = useSessionState();
  const location = useLocation();
  if (status === 'loading') return <Spinner />;
  if (status === 'signed-out') {
    const here = location.pathname + location.search;
    const to = here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
    return <Navigate to={to} replace />;
  }
  return <Outlet />;
}

function SignedOutOnly({ children }: { children: ReactNode }) {
  const { status } = useSessionState();
  const [params] = useSearchParams();
  if (status === 'loading') return <Spinner />;
  if (status === 'signed-in') return <Navigate to={nextPath(params)} replace />;
  return <>{children}</>;
}
