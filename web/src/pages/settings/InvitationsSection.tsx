// Invitations: create one (its link shown once), list them with their state, delete one.
// The layout shows this section only to a user who may create invitations.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { Invitation, InvitationPage, NewInvitation } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Field } from '../../components/Field';
import { t, type MessageKey } from '../../i18n';
import { useConfirmedDelete } from '../../lib/useConfirmedDelete';
import {
  ConfirmDelete,
  fieldErrors,
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

export type InvitationStatus = 'pending' | 'accepted' | 'expired';

export function invitationStatus(invitation: Invitation, now: number = Date.now()): InvitationStatus {
  if (invitation.accepted_at) return 'accepted';
  return new Date(invitation.expires_at).getTime() <= now ? 'expired' : 'pending';
}

const statusLabel: Record<InvitationStatus, MessageKey> = {
  pending: 'settings.invites.pending',
  accepted: 'settings.invites.accepted',
  expired: 'settings.invites.expired',
};

export function invitationLink(code: string, origin: string = window.location.origin): string {
  return `${origin}/register?invite=${encodeURIComponent(code)}`;
}

const defaultHours = 72;
const maxHours = 720;

export function InvitationsSection({ onCannotCreate }: { onCannotCreate: () => void }) {
  const api = useAccountApi();
  const list = useLoad((signal) => api.invitations({ limit: 20 }, signal));
  const [created, setCreated] = useState<{ invitation: NewInvitation; email: string } | null>(null);
  const [moreBusy, setMoreBusy] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  const canCreate = list.data?.can_create;
  useEffect(() => {
    if (canCreate === false) onCannotCreate();
  }, [canCreate, onCannotCreate]);

  const deletion = useConfirmedDelete(
    (invitation: Invitation) => api.deleteInvitation(invitation.id),
    (gone) => {
      list.set((data: InvitationPage | null) => (data ? { ...data, items: data.items.filter((i) => i.id !== gone.id) } : data));
      if (created?.invitation.id === gone.id) setCreated(null);
      setNotice(t('settings.invites.deleted', { prefix: gone.code_prefix }));
      listHeading.current?.focus();
    },
  );

  async function more() {
    const cursor = list.data?.next_cursor;
    if (!cursor || moreBusy) return;
    setMoreBusy(true);
    setMoreError(null);
    try {
      const page = await api.invitations({ limit: 20, cursor });
      list.set((data) => (data ? { ...page, items: [...data.items, ...page.items] } : page));
    } catch (e) {
      setMoreError(toApiError(e));
    } finally {
      setMoreBusy(false);
    }
  }

  return (
    <section aria-labelledby="settings-invites-title" className="settings-section">
      <SectionHeading title={t('settings.nav.invitations')} id="settings-invites-title" />
      <p className="muted">{t('settings.invites.help')}</p>

      {created ? (
        <NewInvitationLink created={created.invitation} email={created.email} onDone={() => setCreated(null)} />
      ) : (
        <CreateInvitation
          onCreated={(invitation, email) => {
            setNotice(null);
            setCreated({ invitation, email });
            list.reload();
          }}
        />
      )}

      <div className="settings-block">
        <h3 ref={listHeading} tabIndex={-1} id="settings-invites-list">
          {t('settings.invites.yours')}
        </h3>
        {notice && <Alert kind="success">{notice}</Alert>}
        <LoadState loaded={list} />
        {list.data && list.data.items.length === 0 && <p className="muted">{t('settings.invites.none')}</p>}
        {list.data && list.data.items.length > 0 && (
          <ul className="settings-list" aria-labelledby="settings-invites-list">
            {list.data.items.map((inv) => {
              const status = invitationStatus(inv);
              return (
                <SettingsItem
                  key={inv.id}
                  id={`invite-${inv.id}`}
                  title={
                    <>
                      {inv.email ?? t('settings.invites.anyone')} <code className="muted">{inv.code_prefix}…</code>
                    </>
                  }
                  badge={<span className={`status-pill status-${status}`}>{t(statusLabel[status])}</span>}
                  facts={[
                    [t('settings.invites.created'), formatDateTime(inv.created_at)],
                    inv.accepted_at
                      ? [t('settings.invites.acceptedAt'), formatDateTime(inv.accepted_at)]
                      : [status === 'expired' ? t('settings.invites.expiredAt') : t('settings.invites.expiresAt'), formatDateTime(inv.expires_at)],
                  ]}
                >
                  <button type="button" className="button button-small" aria-describedby={`invite-${inv.id}`} onClick={() => deletion.ask(inv)}>
                    {t('settings.delete')}
                  </button>
                </SettingsItem>
              );
            })}
          </ul>
        )}
        {moreError && <Alert kind="error">{errorMessage(moreError)}</Alert>}
        {list.data?.next_cursor && (
          <button type="button" className="button" onClick={() => void more()} disabled={moreBusy} aria-busy={moreBusy}>
            {t('settings.loadMore')}
          </button>
        )}
      </div>

      {deletion.target && (
        <ConfirmDelete deletion={deletion} title={t('settings.invites.deleteTitle')}>
          <p>
            {deletion.target.accepted_at
              ? t('settings.invites.deleteAcceptedText')
              : t('settings.invites.deleteText', { prefix: deletion.target.code_prefix })}
          </p>
        </ConfirmDelete>
      )}
    </section>
  );
}

function CreateInvitation({ onCreated }: { onCreated: (invitation: NewInvitation, email: string) => void }) {
  const api = useAccountApi();
  const [email, setEmail] = useState('');
  const [hours, setHours] = useState(String(defaultHours));
  const { busy, error, local, edit, begin, refuse, send } = useFormState<{ email?: string; hours?: string }>();
  const emailRef = useRef<HTMLInputElement>(null);
  const hoursRef = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    if (!begin(event)) return;
    const address = email.trim();
    if (address && !/^[^\s@]+@[^\s@]+$/.test(address)) return refuse({ email: t('register.emailInvalid') }, emailRef);
    const n = Number(hours);
    if (!Number.isInteger(n) || n < 1 || n > maxHours) {
      return refuse({ hours: t('settings.invites.hoursInvalid', { max: maxHours }) }, hoursRef);
    }
    await send(
      async () => {
        const body: { email?: string; expires_in_hours?: number } = { expires_in_hours: n };
        if (address) body.email = address;
        const invitation = await api.createInvitation(body);
        setEmail('');
        setHours(String(defaultHours));
        onCreated(invitation, address);
      },
      (err) => {
        const fields = fieldErrors(err, {});
        if (fields['email']) emailRef.current?.focus();
        else if (fields['expires_in_hours']) hoursRef.current?.focus();
      },
    );
  }

  const fields = fieldErrors(error, { email: t('field.email'), expires_in_hours: t('settings.invites.hours') });
  const emailError = local.email ?? fields['email'];
  const hoursError = local.hours ?? fields['expires_in_hours'];
  const general = error && !fields['email'] && !fields['expires_in_hours'] ? error : null;

  return (
    <form onSubmit={submit} noValidate className="settings-form settings-block" aria-labelledby="settings-invites-create">
      <h3 id="settings-invites-create">{t('settings.invites.createTitle')}</h3>
      <Field
        ref={emailRef}
        label={t('field.email')}
        name="email"
        type="email"
        autoComplete="off"
        optional
        value={email}
        onChange={edit(setEmail)}
        help={t('settings.invites.emailHelp')}
        error={emailError}
      />
      <Field
        ref={hoursRef}
        label={t('settings.invites.hours')}
        name="expires_in_hours"
        type="number"
        inputMode="numeric"
        min={1}
        max={maxHours}
        step={1}
        value={hours}
        onChange={edit(setHours)}
        help={t('settings.invites.hoursHelp', { max: maxHours })}
        error={hoursError}
        required
      />
      {general && <Alert kind="error">{errorMessage(general)}</Alert>}
      <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy}>
        {t('settings.invites.create')}
      </button>
    </form>
  );
}

function NewInvitationLink({ created, email, onDone }: { created: NewInvitation; email: string; onDone: () => void }) {
  return (
    <ShownOnce id="settings-new-invite-title" title={t('settings.invites.createdTitle')} doneLabel={t('settings.invites.done')} onDone={onDone}>
      <Alert kind="info">
        {t('settings.invites.shownOnce', { when: formatDateTime(created.expires_at) })}
        {email && ` ${t('settings.invites.mailed', { email })}`}
      </Alert>
      <SecretField label={t('settings.invites.link')} value={invitationLink(created.code)} />
    </ShownOnce>
  );
}
