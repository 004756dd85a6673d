// One user: the facts, and the actions (administrator role, disable or enable, unlock,
// revoke sessions). Each action asks first, then says what happened and shows the user as
// chatd has it now.
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import type { AdminUser } from '../../api/admin';
import { toApiError } from '../../api/errors';
import { Spinner } from '../../components/Spinner';
import { t } from '../../i18n';
import { useSessionState } from '../../session/context';
import { ErrorAlert, PageHeading, StatusLine, useAdminApi, useConfirmation, usePageTitle } from './common';
import { formatDateTime } from './format';
import { isLocked, RoleBadges, StatusBadges } from './UsersPage';

export function UserPage() {
  const { id = '' } = useParams();
  const api = useAdminApi();
  const me = useSessionState().user;
  const [user, setUser] = useState<AdminUser | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const confirm = useConfirmation();
  usePageTitle(user?.username ?? t('console.section.users'));

  useEffect(() => {
    const abort = new AbortController();
    setUser(null);
    setLoadError(null);
    api
      .user(id, abort.signal)
      .then(setUser)
      .catch((e: unknown) => {
        if (toApiError(e).kind !== 'aborted') setLoadError(e);
      });
    return () => abort.abort();
  }, [api, id]);

  const back = (
    <p className="console-crumb">
      <Link to="/console/users">
        <span aria-hidden="true">← </span>
        {t('console.user.back')}
      </Link>
    </p>
  );

  if (loadError) {
    const notFound = toApiError(loadError).status === 404;
    return (
      <>
        {back}
        <PageHeading>{t('console.section.users')}</PageHeading>
        {notFound ? <p>{t('console.user.notFound')}</p> : <ErrorAlert error={loadError} />}
      </>
    );
  }
  if (!user) {
    return (
      <>
        {back}
        <Spinner />
      </>
    );
  }

  const name = user.username;
  const self = me?.id === user.id;
  const admin = user.roles.includes('admin');
  const locked = isLocked(user);

  const toggleAdmin = () => {
    const roles = admin ? user.roles.filter((r) => r !== 'admin') : [...user.roles, 'admin'];
    confirm.ask({
      title: admin ? t('console.user.removeTitle', { name }) : t('console.user.grantTitle', { name }),
      text: <p>{admin ? t('console.user.removeText', { name }) : t('console.user.grantText', { name })}</p>,
      danger: !admin,
      run: async () => {
        setUser(await api.updateUser(user.id, { roles }));
        return admin ? t('console.user.removed', { name }) : t('console.user.granted', { name });
      },
    });
  };

  const toggleDisabled = () => {
    const disable = !user.disabled;
    confirm.ask({
      title: disable ? t('console.user.disableTitle', { name }) : t('console.user.enableTitle', { name }),
      text: <p>{disable ? t('console.user.disableText', { name }) : t('console.user.enableText', { name })}</p>,
      danger: disable,
      run: async () => {
        setUser(await api.updateUser(user.id, { disabled: disable }));
        return disable ? t('console.user.disabled', { name }) : t('console.user.enabled', { name });
      },
    });
  };

  const unlock = () =>
    confirm.ask({
      title: t('console.user.unlockTitle', { name }),
      text: <p>{t('console.user.unlockText', { name, time: formatDateTime(user.locked_until) })}</p>,
      run: async () => {
        setUser(await api.updateUser(user.id, { unlock: true }));
        return t('console.user.unlocked', { name });
      },
    });

  const revoke = () =>
    confirm.ask({
      title: t('console.user.revokeTitle', { name }),
      text: <p>{t('console.user.revokeText', { name })}</p>,
      danger: true,
      run: async () => {
        await api.revokeSessions(user.id);
        setUser(await api.user(user.id));
        return t('console.user.revoked', { name });
      },
    });

  return (
    <>
      {back}
      <PageHeading>{name}</PageHeading>
      {self && <p className="muted">{t('console.user.you')}</p>}

      <StatusLine message={confirm.status} />
      <ErrorAlert error={confirm.error} />

      <section className="console-card" aria-labelledby="user-account">
        <h2 id="user-account">{t('console.user.account')}</h2>
        <dl className="facts">
          <dt>{t('console.users.email')}</dt>
          <dd>{user.email}</dd>
          <dt>{t('console.user.verified')}</dt>
          <dd>{user.email_verified ? t('console.user.yes') : t('console.user.no')}</dd>
          <dt>{t('console.user.twoFactor')}</dt>
          <dd>{user.totp_enabled ? t('console.user.on') : t('console.user.off')}</dd>
          <dt>{t('console.users.roles')}</dt>
          <dd>
            <RoleBadges roles={user.roles} />
          </dd>
          <dt>{t('console.users.status')}</dt>
          <dd>
            <StatusBadges user={user} />
          </dd>
          <dt>{t('console.users.created')}</dt>
          <dd>{formatDateTime(user.created_at)}</dd>
          <dt>{t('console.users.lastLogin')}</dt>
          <dd>{formatDateTime(user.last_login_at)}</dd>
          <dt>{t('console.user.id')}</dt>
          <dd>
            <code>{user.id}</code>
          </dd>
        </dl>
        <p>
          <Link to={`/console/audit?user=${encodeURIComponent(user.id)}`}>{t('console.user.auditLink', { name })}</Link>
        </p>
      </section>

      <section className="console-card" aria-labelledby="user-access">
        <h2 id="user-access">{t('console.user.access')}</h2>
        <div className="console-action">
          <label className="console-check">
            <input
              type="checkbox"
              checked={admin}
              disabled={confirm.busy || (self && admin)}
              aria-describedby="user-admin-help"
              onChange={toggleAdmin}
            />
            {t('console.user.admin')}
          </label>
          <p id="user-admin-help" className="field-help">
            {self && admin ? t('console.user.adminSelf') : t('console.user.adminHelp')}
          </p>
        </div>

        <div className="console-action">
          <button
            type="button"
            className={`button ${user.disabled ? '' : 'button-danger-outline'}`}
            onClick={toggleDisabled}
            disabled={confirm.busy || (self && !user.disabled)}
            aria-describedby="user-disable-help"
          >
            {user.disabled ? t('console.user.enable') : t('console.user.disable')}
          </button>
          <p id="user-disable-help" className="field-help">
            {self ? t('console.user.disableSelf') : t('console.user.disableHelp')}
          </p>
        </div>

        {locked && (
          <div className="console-action">
            <button type="button" className="button" onClick={unlock} disabled={confirm.busy} aria-describedby="user-unlock-help">
              {t('console.user.unlock')}
            </button>
            <p id="user-unlock-help" className="field-help">
              {t('console.user.lockedHelp', { time: formatDateTime(user.locked_until) })}
            </p>
          </div>
        )}

        <div className="console-action">
          <button
            type="button"
            className="button button-danger-outline"
            onClick={revoke}
            disabled={confirm.busy}
            aria-describedby="user-revoke-help"
          >
            {t('console.user.revoke')}
          </button>
          <p id="user-revoke-help" className="field-help">
            {t('console.user.revokeHelp')}
          </p>
        </div>
      </section>
      {confirm.dialog}
    </>
  );
}
