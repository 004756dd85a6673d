import { useEffect, type ReactNode } from 'react';
import { t } from '../../i18n';
import '../../styles/auth.css';

// The frame of every page before sign-in: a centred card under the product's name.
export function AuthLayout({ title, subtitle, children }: { title: string; subtitle?: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · ${t('app.name')}`;
  }, [title]);
  return (
    <div className="auth-page">
      <main className="auth-card">
        <div className="auth-brand" aria-hidden="true">
          <span className="brand-mark" />
          <span>{t('app.name')}</span>
        </div>
        <h1>{title}</h1>
        {subtitle && <p className="auth-subtitle">{subtitle}</p>}
        {children}
      </main>
    </div>
  );
}
