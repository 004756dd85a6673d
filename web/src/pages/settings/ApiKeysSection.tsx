// API keys for chatd's OpenAI-compatible /v1: create one (shown once, with ready-to-paste
// examples), list them, delete one.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiKey, NewApiKey } from '../../api/account';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t } from '../../i18n';
import { useConfirmedDelete } from '../../lib/useConfirmedDelete';
import { useApi } from '../../session/context';
import {
  ConfirmDelete,
  CopyButton,
  fieldErrors,
  formatDate,
  formatDateTime,
  LoadState,
  SecretField,
  SectionHeading,
  SettingsItem,
  ShownOnce,
  useAccountApi,
  useFormState,
  useLoad,
} from './common';
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
  const [notice, setNotice] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);
  const deletion = useConfirmedDelete(
    (key: ApiKey) => api.deleteApiKey(key.id),
    (gone) => {
      list.set((data) => (data ? { items: data.items.filter((k) => k.id !== gone.id) } : data));
      if (created?.id === gone.id) setCreated(null);
      setNotice(t('settings.keys.deleted', { name: gone.name }));
      listHeading.current?.focus();
    },
  );

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
        <LoadState loaded={list} />
        {list.data && list.data.items.length === 0 && <p className="muted">{t('settings.keys.none')}</p>}
        {list.data && list.data.items.length > 0 && (
          <ul className="settings-list" aria-labelledby="settings-keys-list">
            {list.data.items.map((key) => (
              <SettingsItem
                key={key.id}
                id={`key-${key.id}`}
                title={key.name}
                badge={isExpired(key) && <span className="status-pill status-off">{t('settings.keys.expired')}</span>}
                facts={[
                  [t('settings.keys.prefix'), <code>{key.prefix}…</code>],
                  [t('settings.keys.created'), formatDateTime(key.created_at)],
                  [t('settings.keys.lastUsed'), formatDateTime(key.last_used_at)],
                  [t('settings.keys.expires'), formatDate(key.expires_at, 'settings.keys.noExpiry')],
                ]}
              >
                <button type="button" className="button button-small" aria-describedby={`key-${key.id}`} onClick={() => deletion.ask(key)}>
                  {t('settings.delete')}
                </button>
              </SettingsItem>
            ))}
          </ul>
        )}
      </div>

      {deletion.target && (
        <ConfirmDelete deletion={deletion} title={t('settings.keys.deleteTitle', { name: deletion.target.name })}>
          <p>{t('settings.keys.deleteText')}</p>
        </ConfirmDelete>
      )}
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (key: NewApiKey) => void }) {
  const api = useAccountApi();
  const [name, setName] = useState('');
  const [choice, setChoice] = useState<ExpiryChoice>('never');
  const [date, setDate] = useState('');
  const { busy, error, local, edit, begin, refuse, send } = useFormState<{ name?: string; date?: string }>();
  const nameRef = useRef<HTMLInputElement>(null);
  const dateRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    if (!begin(event)) return;
    if (!name.trim()) return refuse({ name: t('settings.keys.nameMissing') }, nameRef);
    const expires = expiryFor(choice, date);
    if (expires === null) return refuse({ date: t('settings.keys.dateInvalid') }, dateRef);
    await send(
      async () => {
        const body: { name: string; expires_at?: string } = { name: name.trim() };
        if (expires) body.expires_at = expires;
        const key = await api.createApiKey(body);
        setName('');
        setChoice('never');
        setDate('');
        onCreated(key);
      },
      (err) => {
        if (fieldErrors(err, {})['name']) nameRef.current?.focus();
      },
    );
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
        onChange={edit(setName)}
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
          onChange={edit<ExpiryChoice>(setChoice)}
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
          onChange={edit(setDate)}
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
  const baseUrl = `${window.location.origin}/v1`;

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
    <ShownOnce
      id="settings-new-key-title"
      title={t('settings.keys.createdTitle', { name: created.name })}
      doneLabel={t('settings.keys.done')}
      onDone={onDone}
    >
      <Alert kind="info">{t('settings.keys.shownOnce')}</Alert>
      <SecretField label={t('settings.keys.newKey')} value={created.key} />
      <dl className="facts">
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
    </ShownOnce>
  );
}
