// Users: search as you type (a pause of 250 ms), 25 at a time, "Load more" for the next page.
// The search is in the address (?q=), so that coming back from a user finds it again.
import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { AdminUser } from '../../api/admin';
import { toApiError } from '../../api/errors';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { ErrorAlert, LoadMore, PageHeading, useAdminApi, usePageTitle } from './common';
import { formatDateTime } from './format';

const pageSize = 25;
const searchDelay = 250;

export function UsersPage() {
  const api = useAdminApi();
  usePageTitle(t('console.section.users'));
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const [items, setItems] = useState<AdminUser[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const more = useRef<AbortController | null>(null);

  // The address follows the field after a pause; the list follows the address (and the
  // field follows the address when it changes otherwise: back, forward).
  const current = useRef(q);
  current.current = q;
  useEffect(() => {
    const timer = setTimeout(() => {
      const wanted = text.trim();
      if (wanted !== current.current) setParams(wanted ? { q: wanted } : {}, { replace: true });
    }, searchDelay);
    return () => clearTimeout(timer);
  }, [text, setParams]);
  useEffect(() => {
    setText((typed) => (typed.trim() === q ? typed : q));
  }, [q]);

  useEffect(() => {
    const abort = new AbortController();
    more.current?.abort();
    setLoading(true);
    setError(null);
    api
      .users({ q, limit: pageSize }, abort.signal)
      .then((page) => {
        setItems(page.items);
        setCursor(page.next_cursor);
      })
      .catch((e: unknown) => {
        if (toApiError(e).kind !== 'aborted') setError(e);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [api, q]);

  const loadMore = () => {
    if (!cursor) return;
    const abort = new AbortController();
    more.current = abort;
    setLoading(true);
    api
      .users({ q, limit: pageSize, cursor }, abort.signal)
      .then((page) => {
        setItems((list) => [...list, ...page.items.filter((u) => !list.some((o) => o.id === u.id))]);
        setCursor(page.next_cursor);
      })
      .catch((e: unknown) => {
        if (toApiError(e).kind !== 'aborted') setError(e);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
  };

  return (
    <>
      <PageHeading>{t('console.section.users')}</PageHeading>
      <form className="console-toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <Field
          className="console-search"
          label={t('console.users.search')}
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          help={t('console.users.searchHelp')}
        />
      </form>
      <ErrorAlert error={error} />
      <div className="table-scroll" aria-busy={loading}>
        <table className="data-table console-users">
          <caption className="visually-hidden">{t('console.users.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('console.users.username')}</th>
              <th scope="col">{t('console.users.email')}</th>
              <th scope="col">{t('console.users.roles')}</th>
              <th scope="col">{t('console.users.status')}</th>
              <th scope="col">{t('console.users.created')}</th>
              <th scope="col">{t('console.users.lastLogin')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((u) => (
              <tr key={u.id}>
                <th scope="row">
                  <Link to={`/console/users/${encodeURIComponent(u.id)}`}>{u.username}</Link>
                </th>
                <td data-label={t('console.users.email')}>{u.email}</td>
                <td data-label={t('console.users.roles')}>
                  <RoleBadges roles={u.roles} />
                </td>
                <td data-label={t('console.users.status')}>
                  <StatusBadges user={u} />
                </td>
                <td data-label={t('console.users.created')}>{formatDateTime(u.created_at)}</td>
                <td data-label={t('console.users.lastLogin')}>{formatDateTime(u.last_login_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && !error && items.length === 0 && (
        <p className="muted">{q ? t('console.users.noMatch', { q }) : t('console.users.none')}</p>
      )}
      {cursor && <LoadMore loading={loading} onClick={loadMore} />}
    </>
  );
}

export function RoleBadges({ roles }: { roles: string[] }) {
  return (
    <span className="badges">
      {roles.includes('admin') ? (
        <span className="badge badge-admin">{t('console.role.admin')}</span>
      ) : (
        <span className="badge badge-plain">{t('console.role.user')}</span>
      )}
      {roles
        .filter((r) => r !== 'admin' && r !== 'user')
        .map((r) => (
          <span key={r} className="badge badge-plain">
            {r}
          </span>
        ))}
    </span>
  );
}

export function isLocked(user: AdminUser, now: number = Date.now()): boolean {
  return !!user.locked_until && Date.parse(user.locked_until) > now;
}

export function StatusBadges({ user }: { user: AdminUser }) {
  const badges: { key: string; text: string; kind: string }[] = [];
  if (user.disabled) badges.push({ key: 'disabled', text: t('console.status.disabled'), kind: 'badge-danger' });
  if (isLocked(user))
    badges.push({ key: 'locked', text: t('console.status.locked', { time: formatDateTime(user.locked_until) }), kind: 'badge-warn' });
  if (!user.email_verified) badges.push({ key: 'unverified', text: t('console.status.unverified'), kind: 'badge-plain' });
  if (badges.length === 0) badges.push({ key: 'active', text: t('console.status.active'), kind: 'badge-ok' });
  return (
    <span className="badges">
      {badges.map((b) => (
        <span key={b.key} className={`badge ${b.kind}`}>
          {b.text}
        </span>
      ))}
    </span>
  );
}
