import { Link } from 'react-router';
import { t } from '../i18n';
import { AuthLayout } from './auth/AuthLayout';

export function NotFoundPage() {
  return (
    <AuthLayout title={t('notFound.title')}>
      <p className="auth-links">
        <Link to="/">{t('notFound.home')}</Link>
      </p>
    </AuthLayout>
  );
}
