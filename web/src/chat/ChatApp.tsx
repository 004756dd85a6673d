// The chat page (loaded on demand): the conversation list, one conversation, the keys.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useLocation, useMatch, useNavigate } from 'react-router';
import { errorMessage } from '../api/errors';
import type { Conversation, Model } from '../api/types';
import { ConfirmDialog } from '../components/Dialog';
import { t } from '../i18n';
import { clearDraft } from '../lib/drafts';
import { trapTab, focusables } from '../lib/focus';
import { useConfirmedDelete } from '../lib/useConfirmedDelete';
import { useMediaQuery } from '../lib/useMediaQuery';
import { useApi } from '../session/context';
import { ChatView } from './ChatView';
import { Sidebar, conversationTitle } from './Sidebar';
import { ChatStore } from './store';
import { useConversations } from './useConversations';
import '../styles/chat.css';

export default function ChatApp() {
  const api = useApi();
  const navigate = useNavigate();
  const location = useLocation();
  const match = useMatch('/chat/:id');
  const activeId = match?.params.id ?? null;
  const store = useMemo(() => new ChatStore(api), [api]);
  const list = useConversations(api);
  const [models, setModels] = useState<Model[]>([]);
  const [defaultModel, setDefaultModel] = useState<string | null>(null);
  const narrow = useMediaQuery('(max-width: 767.98px)');
  const [drawerOpen, setDrawerOpen] = useState(false);
  const searchRef = useRef<HTMLInputElement>(null);
  // A request to focus the message box of a conversation (null: the new chat), taken by
  // that conversation's view once it is on screen.
  const focusRequest = useRef<{ target: string | null } | null>(null);
  const [focusTick, setFocusTick] = useState(0);
  const requestFocus = useCallback((target: string | null) => {
    focusRequest.current = { target };
    setFocusTick((n) => n + 1);
  }, []);
  const takeFocus = useCallback((target: string | null) => {
    if (!focusRequest.current || focusRequest.current.target !== target) return false;
    focusRequest.current = null;
    return true;
  }, []);
  const drawerRef = useRef<HTMLDivElement>(null);
  const openButton = useRef<HTMLElement | null>(null);

  useEffect(() => {
    let live = true;
    api.models().then(
      (m) => {
        if (!live) return;
        setModels(m.items);
        setDefaultModel(m.default_model ?? m.items[0]?.id ?? null);
      },
      () => undefined, // the picker then shows the conversation's own model only
    );
    return () => {
      live = false;
    };
  }, [api]);

  const { refreshOne, upsert } = list;
  useEffect(() => {
    store.onActivity = (id) => void refreshOne(id);
    return () => {
      store.onActivity = null;
    };
  }, [store, refreshOne]);

  const newChat = useCallback(() => {
    navigate('/');
    requestFocus(null);
  }, [navigate, requestFocus]);

  const openDrawer = useCallback(() => {
    openButton.current = document.activeElement as HTMLElement | null;
    setDrawerOpen(true);
  }, []);
  const closeDrawer = useCallback(() => {
    setDrawerOpen(false);
    requestAnimationFrame(() => openButton.current?.focus());
  }, []);

  // The drawer closes on navigation and when the screen grows wide.
  useEffect(() => {
    setDrawerOpen(false);
  }, [location.pathname]);
  useEffect(() => {
    if (!narrow) setDrawerOpen(false);
  }, [narrow]);
  useEffect(() => {
    if (!drawerOpen) return;
    const frame = requestAnimationFrame(() =>
      (searchRef.current ?? (drawerRef.current && focusables(drawerRef.current)[0]))?.focus(),
    );
    return () => cancelAnimationFrame(frame);
  }, [drawerOpen]);

  // Ctrl/Cmd+K: search. Ctrl/Cmd+Shift+O: a new chat.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === 'k' && !e.shiftKey) {
        e.preventDefault();
        if (narrow) openDrawer();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (key === 'o' && e.shiftKey) {
        e.preventDefault();
        newChat();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [narrow, newChat, openDrawer]);

  const rename = useCallback(
    async (c: Conversation, title: string) => {
      upsert({ ...c, title });
      try {
        upsert(await api.updateConversation(c.id, { title }));
      } catch {
        upsert(c);
      }
    },
    [api, upsert],
  );

  const deletion = useConfirmedDelete(
    (c: Conversation) => api.deleteConversation(c.id),
    (c) => {
      list.remove(c.id);
      clearDraft(c.id);
      if (c.id === activeId) navigate('/', { replace: true });
    },
  );

  const drawer = narrow && drawerOpen;
  const active = activeId ? (list.items.find((c) => c.id === activeId) ?? null) : null;
  return (
    <div className={`chat-app${drawer ? ' drawer-open' : ''}`}>
      <div
        ref={drawerRef}
        className="sidebar"
        inert={narrow && !drawerOpen}
        role={drawer ? 'dialog' : undefined}
        aria-modal={drawer ? true : undefined}
        aria-label={drawer ? t('sidebar.conversations') : undefined}
        onKeyDown={(e) => {
          if (!drawer || !drawerRef.current) return;
          if (e.key === 'Escape' && !e.defaultPrevented) {
            e.preventDefault();
            closeDrawer();
          } else {
            trapTab(e, drawerRef.current);
          }
        }}
      >
        <Sidebar
          list={list}
          activeId={activeId}
          searchRef={searchRef}
          onNewChat={newChat}
          onRename={rename}
          onDelete={deletion.ask}
          onClose={narrow ? closeDrawer : null}
        />
      </div>
      {drawer && <div className="drawer-backdrop" aria-hidden="true" onClick={closeDrawer} />}
      <main className="chat-main" inert={drawer}>
        <ChatView
          key={activeId ?? 'new'}
          conversationId={activeId}
          conversation={active}
          models={models}
          defaultModel={defaultModel}
          store={store}
          focusTick={focusTick}
          takeFocus={takeFocus}
          requestFocus={requestFocus}
          onConversation={upsert}
          onOpenDrawer={narrow ? openDrawer : null}
          wide={!narrow}
        />
      </main>
      {deletion.target && (
        <ConfirmDialog
          title={t('sidebar.deleteTitle')}
          confirmLabel={t('sidebar.deleteConfirm')}
          cancelLabel={t('sidebar.cancel')}
          danger
          busy={deletion.busy}
          onConfirm={() => void deletion.confirm()}
          onCancel={deletion.cancel}
        >
          <p>{t('sidebar.deleteText', { title: conversationTitle(deletion.target) })}</p>
          {deletion.error && <p className="field-error">{errorMessage(deletion.error)}</p>}
        </ConfirmDialog>
      )}
    </div>
  );
}
