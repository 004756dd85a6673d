// The signing keys of access tokens: the current one, the older ones whose tokens are still
// accepted, and rotation (POST /auth/keys/rotate) after a confirmation.
import { useCallback, useEffect, useState } from 'react';
import type { SigningKeys } from '../../api/admin';
import { toApiError } from '../../api/errors';
import { Spinner } from '../../components/Spinner';
import { t } from '../../i18n';
import { ErrorAlert, PageHeading, StatusLine, useAdminApi, useConfirmation, usePageTitle } from './common';

export function KeysPage() {
  const api = useAdminApi();
  usePageTitle(t('console.section.keys'));
  const [keys, setKeys] = useState<SigningKeys | null>(null);
  const [error, setError] = useState<unknown>(null);
  const confirm = useConfirmation();

  const load = useCallback(
    (signal?: AbortSignal) =>
      api
        .keys(signal)
        .then((k) => {
          setKeys(k);
          setError(null);
        })
        .catch((e: unknown) => {
          if (toApiError(e).kind !== 'aborted') setError(e);
        }),
    [api],
  );

  useEffect(() => {
    const abort = new AbortController();
    void load(abort.signal);
    return () => abort.abort();
  }, [load]);

  const rotate = () =>
    confirm.ask({
      title: t('console.keys.rotateTitle'),
      text: <p>{t('console.keys.rotateText')}</p>,
      run: async () => {
        const { kid } = await api.rotateKey();
        await load();
        return t('console.keys.rotated', { kid });
      },
    });

  const others = keys?.keys.filter((k) => k.kid !== keys.current_kid) ?? [];

  return (
    <>
      <PageHeading>{t('console.section.keys')}</PageHeading>
      <StatusLine message={confirm.status} />
      <ErrorAlert error={confirm.error ?? error} />
      {!keys && !error && <Spinner />}
      {keys && (
        <>
          <section className="console-card" aria-labelledby="keys-current">
            <h2 id="keys-current">{t('console.keys.current')}</h2>
            <p className="muted">{t('console.keys.currentHelp')}</p>
            <p>
              <code className="kid">{keys.current_kid}</code>
            </p>
            <button type="button" className="button button-primary" onClick={rotate} disabled={confirm.busy}>
              {t('console.keys.rotate')}
            </button>
          </section>
          <section className="console-card" aria-labelledby="keys-others">
            <h2 id="keys-others">{t('console.keys.others')}</h2>
            <p className="muted">{t('console.keys.othersHelp')}</p>
            {others.length === 0 ? (
              <p>{t('console.keys.noOthers')}</p>
            ) : (
              <ul className="kid-list">
                {others.map((k) => (
                  <li key={k.kid}>
                    <code className="kid">{k.kid}</code>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
      {confirm.dialog}
    </>
  );
}
