// Sessions: where the account is signed in, each one revocable, and signing out everywhere.
import { useRef, useState } from 'react';
import type { SessionInfo } from '../../api/account';
import { errorMessage, toApiError, type ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ConfirmDialog } from '../../components/Dialog';
import { t } from '../../i18n';
import { describeDevice } from '../../lib/userAgent';
import { useSessionManager } from '../../session/context';
import { formatDateTime, LoadState, SectionHeading, SettingsItem, useAccountApi, useLoad } from './common';

// This device first, then the most recently used.
function ordered(items: SessionInfo[]): SessionInfo[] {
  return [...items].sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    return b.last_used_at.localeCompare(a.last_used_at);
  });
}

export function SessionsSection() {
  const api = useAccountApi();
  const session = useSessionManager();
  const list = useLoad((signal) => api.sessions(signal));
  const [busy, setBusy] = useState<string | null>(null); // the session being revoked
  const [confirm, setConfirm] = useState<'current' | 'everywhere' | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  async function revoke(item: SessionInfo) {
    if (item.current) {
      setConfirm('current');
      return;
    }
    setBusy(item.id);
    setError(null);
    setNotice(null);
    try {
      await api.revokeSession(item.id);
      setNotice(t('settings.sessions.revoked', { device: describeDevice(item.user_agent) }));
    } catch (e) {
      const err = toApiError(e);
      if (err.code !== 'not_found') {
        setError(err);
        setBusy(null);
        return;
      }
      setNotice(t('settings.sessions.alreadyEnded'));
    }
    setBusy(null);
    // Its button is gone with it: the focus goes to the list's heading.
    list.set((data) => (data ? { items: data.items.filter((s) => s.id !== item.id) } : data));
    listHeading.current?.focus();
  }

  async function confirmed() {
    setError(null);
    setBusy(confirm);
    try {
      // The current session ends like a sign-out: the server revokes it and clears the
      // cookie, and every tab of this browser goes to the sign-in page.
      if (confirm === 'current') await session.logout();
      else await session.logoutEverywhere();
    } catch (e) {
      setError(toApiError(e));
      setBusy(null);
      setConfirm(null);
    }
  }

  const items = list.data ? ordered(list.data.items) : [];
  return (
    <section aria-labelledby="settings-sessions-title" className="settings-section">
      <SectionHeading title={t('settings.nav.sessions')} id="settings-sessions-title" />
      <p className="muted">{t('settings.sessions.help')}</p>
      {notice && <Alert kind="success">{notice}</Alert>}
      {error && <Alert kind="error">{errorMessage(error)}</Alert>}

      <div className="settings-block">
        <h3 ref={listHeading} tabIndex={-1} id="settings-sessions-active">
          {t('settings.sessions.active')}
        </h3>
        <LoadState loaded={list} />
        {list.data && (
          <ul className="settings-list" aria-labelledby="settings-sessions-active">
            {items.map((item) => (
              <SettingsItem
                key={item.id}
                id={`session-${item.id}`}
                title={describeDevice(item.user_agent)}
                badge={item.current && <span className="status-pill status-on">{t('settings.sessions.thisDevice')}</span>}
                facts={[
                  [t('settings.sessions.ip'), item.ip || t('settings.sessions.unknownIp')],
                  [t('settings.sessions.created'), formatDateTime(item.created_at)],
                  [t('settings.sessions.lastUsed'), formatDateTime(item.last_used_at)],
                ]}
              >
                <button
                  type="button"
                  className="button button-small"
                  aria-describedby={`session-${item.id}`}
                  onClick={() => void revoke(item)}
                  disabled={busy !== null}
                  aria-busy={busy === item.id}
                >
                  {t('settings.sessions.revoke')}
                </button>
              </SettingsItem>
            ))}
          </ul>
        )}
      </div>

      <div className="settings-block">
        <h3>{t('settings.sessions.everywhereTitle')}</h3>
        <p className="muted">{t('settings.signOutEverywhereHelp')}</p>
        <button type="button" className="button button-danger" onClick={() => setConfirm('everywhere')} disabled={busy !== null}>
          {t('settings.signOutEverywhere')}
        </button>
      </div>

      {confirm && (
        <ConfirmDialog
          title={confirm === 'current' ? t('settings.sessions.currentTitle') : t('settings.sessions.everywhereConfirmTitle')}
          confirmLabel={t('settings.confirm')}
          cancelLabel={t('settings.cancel')}
          danger
          busy={busy !== null}
          onConfirm={() => void confirmed()}
          onCancel={() => setConfirm(null)}
        >
          {confirm === 'current' ? t('settings.sessions.currentText') : t('settings.signOutEverywhereHelp')}
        </ConfirmDialog>
      )}
    </section>
  );
}
