import { t } from '../i18n';

export function Spinner({ label = t('app.loading') }: { label?: string }) {
  return (
    <div className="spinner-page" role="status">
      <span className="spinner" aria-hidden="true" />
      <span className="visually-hidden">{label}</span>
    </div>
  );
}
