// The audit log, newest first, 50 at a time: filters by user (a username, looked up, or a
// user id), event and days. The filters live in the address (?user=&event=&from=&to=).
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { auditEvents, type AdminApi, type AuditEntry, type AuditFilter } from '../../api/admin';
import { toApiError } from '../../api/errors';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { describeDevice } from '../../lib/userAgent';
import { auditSentence } from './auditText';
import { ErrorAlert, LoadMore, PageHeading, useAdminApi, usePageTitle } from './common';
import { addDays, formatDateTime, isDay } from './format';

const pageSize = 50;

// A username is 3 to 32 of [A-Za-z0-9_.-]; anything else (a UUID is 36 characters) is an id.
export function looksLikeId(text: string): boolean {
  return !/^[A-Za-z0-9_.-]{3,32}$/.test(text);
}

class NoSuchUser extends Error {}

// The user_id for the "User" filter: an id as it is, a username (or e-mail) through
// /admin/users?q=, which must match it exactly.
async function resolveUser(api: AdminApi, text: string, signal: AbortSignal): Promise<string> {
  if (looksLikeId(text) && !text.includes('@')) return text;
  const page = await api.users({ q: text, limit: 100 }, signal);
  const wanted = text.toLowerCase();
  const found = page.items.find((u) => u.username.toLowerCase() === wanted || u.email.toLowerCase() === wanted);
  if (!found) throw new NoSuchUser(text);
  return found.id;
}

export function AuditPage() {
  const api = useAdminApi();
  const id = useId();
  usePageTitle(t('console.section.audit'));
  const [params, setParams] = useSearchParams();
  const filters = {
    user: params.get('user') ?? '',
    event: params.get('event') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
  };
  const [form, setForm] = useState(filters);
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [query, setQuery] = useState<AuditFilter | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [noUser, setNoUser] = useState('');
  const key = params.toString();

  // The form shows what the address says (also after back and forward).
  useEffect(() => {
    setForm({
      user: params.get('user') ?? '',
      event: params.get('event') ?? '',
      from: params.get('from') ?? '',
      to: params.get('to') ?? '',
    });
  }, [key]);

  const rangeInvalid = !!(form.from && form.to && isDay(form.from) && isDay(form.to) && form.from > form.to);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    setNoUser('');
    (async () => {
      const f: AuditFilter = {};
      if (filters.user.trim()) f.user_id = await resolveUser(api, filters.user.trim(), abort.signal);
      if (filters.event) f.event = filters.event;
      if (isDay(filters.from)) f.from = filters.from;
      if (isDay(filters.to)) f.to = addDays(filters.to, 1); // the whole last day
      const page = await api.audit({ ...f, limit: pageSize }, abort.signal);
      if (abort.signal.aborted) return;
      setQuery(f);
      setItems(page.items);
      setCursor(page.next_cursor);
    })()
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setItems([]);
        setCursor(null);
        if (e instanceof NoSuchUser) setNoUser(e.message);
        else if (toApiError(e).kind !== 'aborted') setError(e);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [api, key]);

  const loadMore = () => {
    if (!cursor || !query) return;
    setLoading(true);
    api
      .audit({ ...query, limit: pageSize, cursor })
      .then((page) => {
        setItems((list) => [...list, ...page.items.filter((e) => !list.some((o) => o.id === e.id))]);
        setCursor(page.next_cursor);
      })
      .catch((e: unknown) => setError(e))
      .finally(() => setLoading(false));
  };

  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (rangeInvalid) return;
    const next: Record<string, string> = {};
    if (form.user.trim()) next['user'] = form.user.trim();
    if (form.event) next['event'] = form.event;
    if (form.from) next['from'] = form.from;
    if (form.to) next['to'] = form.to;
    setParams(next);
  };

  const filtered = !!(filters.user || filters.event || filters.from || filters.to);

  return (
    <>
      <PageHeading>{t('console.section.audit')}</PageHeading>
      <form className="console-filters" onSubmit={apply} aria-label={t('console.audit.apply')}>
        <Field
          label={t('console.audit.user')}
          value={form.user}
          onChange={(e) => setForm({ ...form, user: e.target.value })}
          autoComplete="off"
          spellCheck={false}
          help={t('console.audit.userHelp')}
          error={noUser ? t('console.audit.noUser', { name: noUser }) : undefined}
        />
        <div className="field">
          <div className="field-head">
            <label htmlFor={`${id}-event`}>{t('console.audit.event')}</label>
          </div>
          <select id={`${id}-event`} value={form.event} onChange={(e) => setForm({ ...form, event: e.target.value })}>
            <option value="">{t('console.audit.allEvents')}</option>
            {auditEvents.map((ev) => (
              <option key={ev} value={ev}>
                {ev}
              </option>
            ))}
          </select>
        </div>
        <Field
          label={t('console.from')}
          type="date"
          value={form.from}
          max={form.to || undefined}
          onChange={(e) => setForm({ ...form, from: e.target.value })}
        />
        <Field
          label={t('console.to')}
          type="date"
          value={form.to}
          min={form.from || undefined}
          onChange={(e) => setForm({ ...form, to: e.target.value })}
          error={rangeInvalid ? t('console.rangeInvalid') : undefined}
        />
        <p className="field-help console-filters-note">{t('console.utcDays')}</p>
        <div className="console-filter-actions">
          <button type="submit" className="button button-primary" disabled={rangeInvalid}>
            {t('console.audit.apply')}
          </button>
          {filtered && (
            <button type="button" className="button" onClick={() => setParams({})}>
              {t('console.audit.clear')}
            </button>
          )}
        </div>
      </form>
      <ErrorAlert error={error} />
      <ol className="audit-list" aria-label={t('console.audit.list')} aria-busy={loading}>
        {items.map((entry) => (
          <AuditRow key={entry.id} entry={entry} />
        ))}
      </ol>
      {!loading && !error && !noUser && items.length === 0 && <p className="muted">{t('console.audit.none')}</p>}
      {cursor && <LoadMore loading={loading} onClick={loadMore} />}
    </>
  );
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  const where = [entry.ip, entry.user_agent ? describeDevice(entry.user_agent) : ''].filter(Boolean).join(' · ');
  const hasDetail = entry.detail && typeof entry.detail === 'object' && Object.keys(entry.detail).length > 0;
  return (
    <li className="audit-entry">
      <div className="audit-head">
        <span className="audit-text">
          {auditSentence(entry).map((piece, i) =>
            typeof piece === 'string' ? (
              piece
            ) : piece.user ? (
              <Link key={i} to={`/console/users/${encodeURIComponent(piece.user)}`}>
                {piece.name}
              </Link>
            ) : (
              <span key={i}>{piece.name}</span>
            ),
          )}
        </span>
        <time className="audit-time" dateTime={entry.at}>
          {formatDateTime(entry.at)}
        </time>
      </div>
      <div className="audit-meta">
        <code className="audit-event">{entry.event}</code>
        {where && <span className="audit-where">{where}</span>}
      </div>
      {hasDetail && (
        <details className="audit-detail">
          <summary>{t('console.audit.detail')}</summary>
          <pre>{JSON.stringify(entry.detail, null, 2)}</pre>
        </details>
      )}
    </li>
  );
}
