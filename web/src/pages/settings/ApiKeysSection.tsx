// API keys for chatd's OpenAI-compatible /v1: create one (shown once, with ready-to-paste
// examples), list them, delete one.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiKey, NewApiKey } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/Dialog';
import { Field } from '../../components/Field';
import { Spinner } from '../../components/Spinner';
import { t } from '../../i18n';
import { useApi } from '../../session/context';
import { CopyButton, fieldErrors, formatDate, formatDateTime, SectionHeading, useAccountApi, useLoad } from './common';
import { Tabs } from './Tabs';

export type ExpiryChoice = 'never' | '30' | '90' | '365' | 'date';

// The expires_at to send for a choice ("date": the end of that day where the user is);
// undefined for no expiry, null for a date that is missing or not in the future.
export function expiryFor(choice: ExpiryChoice, date: string, now: number = Date.now()): string | undefined | null {
  if (choice === 'never') return undefined;
  if (choice === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return null;
    const end = new Date(`${date}T23:59:59`);
    if (Number.isNaN(end.getTime()) || end.getTime() <= now) return null;
    return end.toISOString();
  }
  return new Date(now + Number(choice) * 86_400_000).toISOString();
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// Ready-to-paste calls of /v1 with `key` (JSON string literals are valid in Python and
// JavaScript alike).
export function codeExamples(baseUrl: string, key: string, model: string): { curl: string; python: string; javascript: string } {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello!' }] });
  const q = JSON.stringify;
  return {
    curl: [
      `curl ${shellQuote(`${baseUrl}/chat/completions`)} \\`,
      `  -H ${shellQuote(`Authorization: Bearer ${key}`)} \\`,
      `  -H 'Content-Type: application/json' \\`,
      `  -d ${shellQuote(body)}`,
    ].join('\n'),
    python: [
      'from openai import OpenAI',
      '',
      'client = OpenAI(',
      `    base_url=${q(baseUrl)},`,
      `    api_key=${q(key)},`,
      ')',
      'reply = client.chat.completions.create(',
      `    model=${q(model)},`,
      '    messages=[{"role": "user", "content": "Hello!"}],',
      ')',
      'print(reply.choices[0].message.content)',
    ].join('\n'),
    javascript: [
      "import OpenAI from 'openai';",
      '',
      'const client = new OpenAI({',
      `  baseURL: ${q(baseUrl)},`,
      `  apiKey: ${q(key)},`,
      '});',
      'const reply = await client.chat.completions.create({',
      `  model: ${q(model)},`,
      "  messages: [{ role: 'user', content: 'Hello!' }],",
      '});',
      'console.log(reply.choices[0].message.content);',
    ].join('\n'),
  };
}

function isExpired(key: ApiKey, now: number = Date.now()): boolean {
  return key.expires_at !== null && new Date(key.expires_at).getTime() <= now;
}

export function ApiKeysSection() {
  const api = useAccountApi();
  const list = useLoad((signal) => api.apiKeys(signal));
  const [created, setCreated] = useState<NewApiKey | null>(null);
  const [deleting, setDeleting] = useState<ApiKey | null>(null);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  async function remove() {
    if (!deleting) return;
    setDeleteBusy(true);
    setDeleteError(null);
    try {
      await api.deleteApiKey(deleting.id);
    } catch (e) {
      const err = toApiError(e);
      if (err.code !== 'not_found') {
        setDeleteError(err);
        setDeleteBusy(false);
        return;
      }
    }
    const gone = deleting;
    list.set((data) => (data ? { items: data.items.filter((k) => k.id !== gone.id) } : data));
    if (created?.id === gone.id) setCreated(null);
    setNotice(t('settings.keys.deleted', { name: gone.name }));
    setDeleting(null);
    setDeleteBusy(false);
    listHeading.current?.focus();
  }

  return (
    <section aria-labelledby="settings-keys-title" className="settings-section">
      <SectionHeading title={t('settings.nav.apiKeys')} id="settings-keys-title" />
      <p className="muted">{t('settings.keys.help')}</p>

      {created ? (
        <NewKey
          created={created}
          onDone={() => {
            setCreated(null);
          }}
        />
      ) : (
        <CreateKey
          onCreated={(key) => {
            setNotice(null);
            setCreated(key);
            const listed: ApiKey = { id: key.id, name: key.name, prefix: key.prefix, created_at: key.created_at, expires_at: key.expires_at, last_used_at: null };
            list.set((data) => (data ? { items: [listed, ...data.items] } : data));
          }}
        />
      )}

      <div className="settings-block">
        <h3 ref={listHeading} tabIndex={-1} id="settings-keys-list">
          {t('settings.keys.yourKeys')}
        </h3>
        {notice && <Alert kind="success">{notice}</Alert>}
        {list.loading && !list.data && <Spinner label={t('settings.loading')} />}
        {list.error && !list.data && (
          <Alert kind="error">
            {errorMessage(list.error)}{' '}
            <button type="button" className="link-button" onClick={list.reload}>
              {t('settings.retry')}
            </button>
          </Alert>
        )}
        {list.data && list.data.items.length === 0 && <p className="muted">{t('settings.keys.none')}</p>}
        {list.data && list.data.items.length > 0 && (
          <ul className="settings-list" aria-labelledby="settings-keys-list">
            {list.data.items.map((key) => (
              <li key={key.id} className="settings-item" aria-labelledby={`key-${key.id}`}>
                <div className="settings-item-head">
                  <span className="settings-item-title" id={`key-${key.id}`}>
                    {key.name}
                  </span>
                  {isExpired(key) && <span className="status-pill status-off">{t('settings.keys.expired')}</span>}
                </div>
                <dl className="settings-item-facts">
                  <div>
                    <dt>{t('settings.keys.prefix')}</dt>
                    <dd>
                      <code>{key.prefix}…</code>
                    </dd>
                  </div>
                  <div>
                    <dt>{t('settings.keys.created')}</dt>
                    <dd>{formatDateTime(key.created_at)}</dd>
                  </div>
                  <div>
                    <dt>{t('settings.keys.lastUsed')}</dt>
                    <dd>{formatDateTime(key.last_used_at)}</dd>
                  </div>
                  <div>
                    <dt>{t('settings.keys.expires')}</dt>
                    <dd>{formatDate(key.expires_at, 'settings.keys.noExpiry')}</dd>
                  </div>
                </dl>
                <button
                  type="button"
                  className="button button-small"
                  aria-describedby={`key-${key.id}`}
                  onClick={() => {
                    setDeleteError(null);
                    setDeleting(key);
                  }}
                >
                  {t('settings.delete')}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>

      {deleting && (
        <ConfirmDialog
          title={t('settings.keys.deleteTitle', { name: deleting.name })}
          confirmLabel={t('settings.confirm')}
          cancelLabel={t('settings.cancel')}
          danger
          busy={deleteBusy}
          onConfirm={() => void remove()}
          onCancel={() => setDeleting(null)}
        >
          <p>{t('settings.keys.deleteText')}</p>
          {deleteError && <Alert kind="error">{errorMessage(deleteError)}</Alert>}
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (key: NewApiKey) => void }) {
  const api = useAccountApi();
  const [name, setName] = useState('');
  const [choice, setChoice] = useState<ExpiryChoice>('never');
  const [date, setDate] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [local, setLocal] = useState<{ name?: string; date?: string }>({});
  const nameRef = useRef<HTMLInputElement>(null);
  const dateRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setError(null);
    if (!name.trim()) {
      setLocal({ name: t('settings.keys.nameMissing') });
      nameRef.current?.focus();
      return;
    }
    const expires = expiryFor(choice, date);
    if (expires === null) {
      setLocal({ date: t('settings.keys.dateInvalid') });
      dateRef.current?.focus();
      return;
    }
    setLocal({});
    setBusy(true);
    try {
      const body: { name: string; expires_at?: string } = { name: name.trim() };
      if (expires) body.expires_at = expires;
      const key = await api.createApiKey(body);
      setName('');
      setChoice('never');
      setDate('');
      onCreated(key);
    } catch (e) {
      const err = toApiError(e);
      setError(err);
      if (fieldErrors(err, {})['name']) nameRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  const fields = fieldErrors(error, { name: t('settings.keys.name'), expires_at: t('settings.keys.expires') });
  const nameError = local.name ?? fields['name'];
  const dateError = local.date ?? fields['expires_at'];
  const general = error && !fields['name'] && !fields['expires_at'] ? error : null;
  const tomorrow = new Date(Date.now() + 86_400_000);
  const minDate = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;

  return (
    <form onSubmit={submit} noValidate className="settings-form settings-block" aria-labelledby="settings-keys-create">
      <h3 id="settings-keys-create">{t('settings.keys.createTitle')}</h3>
      <Field
        ref={nameRef}
        label={t('settings.keys.name')}
        name="name"
        value={name}
        maxLength={100}
        autoComplete="off"
        onChange={(e) => {
          setName(e.target.value);
          setLocal({});
        }}
        help={t('settings.keys.nameHelp')}
        error={nameError}
        required
      />
      <div className="field">
        <div className="field-head">
          <label htmlFor="settings-key-expires">{t('settings.keys.expires')}</label>
        </div>
        <select
          id="settings-key-expires"
          className="select"
          value={choice}
          onChange={(e) => {
            setChoice(e.target.value as ExpiryChoice);
            setLocal({});
          }}
        >
          <option value="never">{t('settings.keys.expiresNever')}</option>
          <option value="30">{t('settings.keys.expires30')}</option>
          <option value="90">{t('settings.keys.expires90')}</option>
          <option value="365">{t('settings.keys.expires365')}</option>
          <option value="date">{t('settings.keys.expiresDate')}</option>
        </select>
      </div>
      {choice === 'date' && (
        <Field
          ref={dateRef}
          label={t('settings.keys.date')}
          name="expires_on"
          type="date"
          min={minDate}
          value={date}
          onChange={(e) => {
            setDate(e.target.value);
            setLocal({});
          }}
          error={dateError}
          required
        />
      )}
      {choice !== 'date' && dateError && <Alert kind="error">{dateError}</Alert>}
      {general && <Alert kind="error">{errorMessage(general)}</Alert>}
      <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy}>
        {t('settings.keys.create')}
      </button>
    </form>
  );
}

function NewKey({ created, onDone }: { created: NewApiKey; onDone: () => void }) {
  const chat = useApi();
  const [model, setModel] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const keyRef = useRef<HTMLInputElement>(null);
  const baseUrl = `${window.location.origin}/v1`;

  useEffect(() => {
    heading.current?.focus();
  }, []);

  useEffect(() => {
    let live = true;
    chat.models().then(
      (m) => {
        if (live) setModel(m.default_model ?? m.items[0]?.id ?? null);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [chat]);

  const examples = codeExamples(baseUrl, created.key, model ?? 'MODEL_ID');
  const block = (text: string) => (
    <div className="code-example">
      <pre>
        <code>{text}</code>
      </pre>
      <CopyButton text={text} label={t('settings.copyCode')} />
    </div>
  );

  return (
    <div className="new-secret settings-block" role="region" aria-labelledby="settings-new-key-title">
      <h3 id="settings-new-key-title" ref={heading} tabIndex={-1}>
        {t('settings.keys.createdTitle', { name: created.name })}
      </h3>
      <Alert kind="info">{t('settings.keys.shownOnce')}</Alert>
      <div className="copy-row">
        <Field
          ref={keyRef}
          label={t('settings.keys.newKey')}
          className="secret-field"
          readOnly
          value={created.key}
          spellCheck={false}
          autoComplete="off"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={created.key} fallback={() => keyRef.current} />
      </div>
      <dl className="settings-facts">
        <dt>{t('settings.keys.baseUrl')}</dt>
        <dd>
          <code>{baseUrl}</code>
        </dd>
        <dt>{t('settings.keys.expires')}</dt>
        <dd>{formatDate(created.expires_at, 'settings.keys.noExpiry')}</dd>
      </dl>
      <h4>{t('settings.keys.examples')}</h4>
      <Tabs
        label={t('settings.keys.examples')}
        items={[
          { id: 'curl', label: 'curl', content: block(examples.curl) },
          { id: 'python', label: t('settings.keys.python'), content: block(examples.python) },
          { id: 'javascript', label: t('settings.keys.javascript'), content: block(examples.javascript) },
        ]}
      />
      <div className="settings-actions">
        <button type="button" className="button button-primary" onClick={onDone}>
          {t('settings.keys.done')}
        </button>
      </div>
    </div>
  );
}
