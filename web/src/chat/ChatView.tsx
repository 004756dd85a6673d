import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, errorMessage, fieldMessages, toApiError } from '../api/errors';
import type { Conversation, Model } from '../api/types';
import { Alert } from '../components/Alert';
import { IconMenu, IconSliders } from '../components/Icons';
import { t } from '../i18n';
import { clearDraft, clearPending, loadDraft, saveDraft, savePending, takePending } from '../lib/drafts';
import { useApi } from '../session/context';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { conversationTitle } from './Sidebar';
import type { ChatStore } from './store';

interface ChatViewProps {
  conversationId: string | null; // null: a new chat, created on its first message
  conversation: Conversation | null; // what the list knows of it, if anything
  models: Model[];
  defaultModel: string | null;
  store: ChatStore;
  focusTick: number;
  takeFocus: (target: string | null) => boolean;
  requestFocus: (target: string | null) => void;
  onConversation: (c: Conversation, moveToTop?: boolean) => void;
  onOpenDrawer: (() => void) | null;
  wide: boolean;
}

export function ChatView(props: ChatViewProps) {
  const { conversationId, store, models, defaultModel, onConversation } = props;
  const api = useApi();
  const navigate = useNavigate();
  const thread = useSyncExternalStore(store.subscribe, () => store.thread(conversationId));
  const draftKey = conversationId ?? 'new';
  // What the user was typing; or a message that never reached the server (the page went
  // away, or the session ended, while it was being sent).
  const [draft, setDraft] = useState(() => {
    const saved = loadDraft(draftKey);
    if (saved || !conversationId || store.isStreaming(conversationId)) return saved;
    const pending = takePending(conversationId);
    if (pending) saveDraft(draftKey, pending);
    return pending;
  });
  const [conversation, setConversation] = useState<Conversation | null>(props.conversation);
  const [notFound, setNotFound] = useState(false);
  const [newModel, setNewModel] = useState<string | null>(null);
  const [createError, setCreateError] = useState<ApiError | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const settingsId = useId();
  const [creating, setCreating] = useState(false);
  const [followSignal, setFollowSignal] = useState(0);
  const composer = useRef<HTMLTextAreaElement>(null);
  const { focusTick, takeFocus, requestFocus } = props;

  // New chat (button or Ctrl/Cmd+Shift+O), or a new chat that got its address: the message
  // box gets the focus once this view is the one on screen.
  useEffect(() => {
    if (takeFocus(conversationId)) composer.current?.focus();
  }, [focusTick, takeFocus, conversationId]);

  // The list's copy changes when the server gives the conversation a title or moves it.
  useEffect(() => {
    if (props.conversation) setConversation(props.conversation);
  }, [props.conversation]);

  // The conversation itself (model, system prompt), and its messages.
  useEffect(() => {
    if (!conversationId) return;
    let live = true;
    void store.load(conversationId);
    api.conversation(conversationId).then(
      (c) => {
        if (!live) return;
        setConversation(c);
        onConversation(c);
      },
      (e: unknown) => {
        if (live && toApiError(e).code === 'not_found') setNotFound(true);
      },
    );
    return () => {
      live = false;
    };
  }, [api, conversationId, store, onConversation]);

  useEffect(() => {
    document.title = conversation ? `${conversationTitle(conversation)} · ${t('app.name')}` : t('app.name');
  }, [conversation]);

  const changeDraft = (text: string) => {
    setDraft(text);
    saveDraft(draftKey, text);
  };

  const savePrompt = useCallback(
    async (text: string) => {
      if (!conversationId) return;
      const updated = await api.updateConversation(conversationId, { system_prompt: text.trim() ? text : null });
      setConversation(updated);
      onConversation(updated);
    },
    [api, conversationId, onConversation],
  );
  const prompt = useSystemPrompt(conversationId, conversation, savePrompt);

  const model = conversation?.model ?? newModel ?? defaultModel ?? models[0]?.id ?? '';
  const streaming = thread.streaming;

  // The box empties at once; the text is kept aside (savePending) until the server has
  // stored it, and comes back into the box if it was refused.
  const send = async (text: string) => {
    const content = text;
    setCreateError(null);
    setDraft('');
    if (conversationId) {
      clearDraft(draftKey);
      savePending(conversationId, content);
      setFollowSignal((s) => s + 1);
      await prompt.flush(); // the answer must see the system prompt the user just typed
      void store.send(conversationId, content, undefined, () => clearPending(conversationId));
      return;
    }
    // A new chat: create the conversation first, then send into it. The "new" draft stays
    // until the conversation exists.
    setCreating(true);
    try {
      const body: { model?: string; system_prompt?: string } = {};
      if (model) body.model = model;
      if (prompt.text.trim()) body.system_prompt = prompt.text;
      const created = await api.createConversation(body);
      clearDraft('new');
      savePending(created.id, content);
      store.created(created.id);
      onConversation(created, true);
      void store.send(created.id, content, undefined, () => clearPending(created.id));
      if (document.activeElement === composer.current) requestFocus(created.id);
      navigate(`/chat/${encodeURIComponent(created.id)}`);
    } catch (e) {
      setDraft(content);
      setCreateError(toApiError(e));
    } finally {
      setCreating(false);
    }
  };

  // A message the server refused (429, 422, offline...) goes back into the box.
  const failure = thread.failure;
  const restored = useRef<typeof failure>(null);
  useEffect(() => {
    if (!failure || failure.stored || !conversationId || restored.current === failure) return;
    restored.current = failure;
    clearPending(conversationId);
    setDraft((current) => {
      const text = current ? current : failure.content;
      saveDraft(draftKey, text);
      return text;
    });
  }, [failure, conversationId, draftKey]);

  const loadOlder = useCallback(() => {
    if (conversationId) void store.loadOlder(conversationId);
  }, [conversationId, store]);

  const stop = useCallback(() => {
    if (conversationId) store.stop(conversationId);
  }, [conversationId, store]);

  // Escape stops the answer wherever the focus is, unless something else (a menu, a
  // dialog, the drawer) took the key first.
  useEffect(() => {
    if (!streaming) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [streaming, stop]);

  const changeModel = async (id: string) => {
    if (!conversationId || !conversation) {
      setNewModel(id);
      return;
    }
    const before = conversation;
    setConversation({ ...conversation, model: id });
    try {
      const updated = await api.updateConversation(conversationId, { model: id });
      setConversation(updated);
      onConversation(updated);
    } catch (e) {
      setConversation(before);
      setCreateError(toApiError(e));
    }
  };

  const selected = models.find((m) => m.id === model);

  if (notFound || (thread.status === 'error' && thread.loadError?.code === 'not_found')) {
    return (
      <div className="chat-view">
        <Header {...props} title={t('chat.notFound')} />
        <div className="chat-empty">
          <p>{t('chat.notFound')}</p>
          <Link className="button" to="/">
            {t('sidebar.newChat')}
          </Link>
        </div>
      </div>
    );
  }

  const hasMessages = thread.messages.length > 0;
  return (
    <div className="chat-view">
      <Header
        {...props}
        title={conversation ? conversationTitle(conversation) : t('sidebar.newChat')}
        model={model}
        onModel={(id) => void changeModel(id)}
        settingsOpen={settingsOpen}
        settingsId={settingsId}
        onToggleSettings={() => setSettingsOpen((open) => !open)}
      />
      {selected?.demo && <p className="demo-notice">{t('chat.demoNotice')}</p>}
      {settingsOpen && <SystemPromptEditor prompt={prompt} id={settingsId} />}
      {thread.status === 'loading' && !hasMessages ? (
        <div className="chat-empty" role="status">
          <p className="muted">{t('chat.loading')}</p>
        </div>
      ) : thread.status === 'error' && !hasMessages ? (
        <div className="chat-empty">
          <Alert kind="error">
            {t('chat.loadError')} {errorMessage(thread.loadError)}
          </Alert>
          {conversationId && (
            <button type="button" className="button" onClick={() => void store.load(conversationId)}>
              {t('chat.retry')}
            </button>
          )}
        </div>
      ) : hasMessages ? (
        <MessageList
          key={conversationId ?? 'new'}
          messages={thread.messages}
          followSignal={followSignal}
          hasOlder={thread.older !== null}
          loadingOlder={thread.loadingOlder}
          onLoadOlder={loadOlder}
        />
      ) : (
        <div className="chat-empty">
          <h2 className="chat-greeting">{t('chat.emptyTitle')}</h2>
          <p className="muted">{t('chat.emptyHint')}</p>
        </div>
      )}
      <div className="composer-area">
        {thread.failure && conversationId && (
          <div className="send-failure" role="alert">
            <span>{failureText(thread.failure.error)}</span>
            {thread.failure.stored && (
            <button
              type="button"
              className="button button-small"
              disabled={streaming}
              onClick={() => {
                setFollowSignal((s) => s + 1);
                void store.retry(conversationId);
              }}
            >
              {t('chat.retry')}
            </button>
            )}
          </div>
        )}
        {createError && (
          <div className="send-failure" role="alert">
            <span>{fieldMessages(createError)['model'] ?? errorMessage(createError, 'chat')}</span>
          </div>
        )}
        <Composer
          value={draft}
          onChange={changeDraft}
          onSend={(text) => void send(text)}
          onStop={stop}
          streaming={streaming}
          disabled={creating}
          textareaRef={composer}
          autoFocus={props.wide}
        />
      </div>
      <div className="visually-hidden" aria-live="polite" aria-atomic="true">
        {thread.announcement ? <span key={thread.announcement.seq}>{thread.announcement.text}</span> : null}
      </div>
    </div>
  );
}

function failureText(error: ApiError): string {
  if (error.kind === 'network' && error.detail === t('error.streamBroken')) return t('error.streamBroken');
  const fields = fieldMessages(error);
  return fields['content'] ?? errorMessage(error, 'chat');
}

interface HeaderProps extends ChatViewProps {
  title: string;
  model?: string;
  onModel?: (id: string) => void;
  settingsOpen?: boolean;
  settingsId?: string;
  onToggleSettings?: () => void;
}

function Header({ title, models, model, onModel, onOpenDrawer, settingsOpen, settingsId, onToggleSettings }: HeaderProps) {
  const id = useId();
  return (
    <header className="chat-header">
      {onOpenDrawer && (
        <button type="button" className="icon-button" aria-label={t('sidebar.open')} onClick={onOpenDrawer}>
          <IconMenu />
        </button>
      )}
      <h1 className="chat-title">{title}</h1>
      {onModel && model !== undefined && (
        <div className="model-picker">
          <label htmlFor={`${id}-model`} className="visually-hidden">
            {t('field.model')}
          </label>
          <select id={`${id}-model`} value={model} onChange={(e) => onModel(e.target.value)}>
            {model && !models.some((m) => m.id === model) && <option value={model}>{model}</option>}
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.demo ? `${m.id} (${t('chat.demoBadge')})` : m.id}
              </option>
            ))}
          </select>
          {models.find((m) => m.id === model)?.demo && (
            <span className="badge badge-demo" aria-hidden="true">
              {t('chat.demoBadge')}
            </span>
          )}
        </div>
      )}
      {onToggleSettings && (
        <button
          type="button"
          className={`icon-button${settingsOpen ? ' pressed' : ''}`}
          aria-label={t('chat.settings')}
          aria-expanded={settingsOpen}
          aria-controls={settingsOpen ? settingsId : undefined}
          onClick={onToggleSettings}
        >
          <IconSliders />
        </button>
      )}
    </header>
  );
}

interface SystemPrompt {
  text: string;
  change: (text: string) => void;
  flush: () => Promise<void>;
  state: 'idle' | 'saving' | 'saved';
  error: ApiError | null;
}

// The conversation's system prompt, saved as the user types (a pause of 800 ms, leaving the
// field, or sending a message saves it). A new chat keeps it until the chat is created.
function useSystemPrompt(
  conversationId: string | null,
  conversation: Conversation | null,
  save: (text: string) => Promise<void>,
): SystemPrompt {
  const [text, setText] = useState(conversation?.system_prompt ?? '');
  const [state, setState] = useState<'idle' | 'saving' | 'saved'>('idle');
  const [error, setError] = useState<ApiError | null>(null);
  const dirty = useRef(false);
  const latest = useRef(text);
  const server = conversation ? (conversation.system_prompt ?? '') : null;

  // The server's value, once it is known, unless the user has typed since.
  useEffect(() => {
    if (server !== null && !dirty.current) {
      setText(server);
      latest.current = server;
    }
  }, [server]);

  const flush = useCallback(async () => {
    if (!conversationId || !dirty.current) return;
    dirty.current = false;
    setState('saving');
    setError(null);
    try {
      await save(latest.current);
      setState('saved');
    } catch (e) {
      dirty.current = true;
      setError(toApiError(e));
      setState('idle');
    }
  }, [conversationId, save]);

  useEffect(() => {
    if (!conversationId || !dirty.current) return;
    const timer = setTimeout(() => void flush(), 800);
    return () => clearTimeout(timer);
  }, [text, conversationId, flush]);

  const change = useCallback((value: string) => {
    dirty.current = true;
    latest.current = value;
    setText(value);
    setState('idle');
  }, []);

  return { text, change, flush, state, error };
}

function SystemPromptEditor({ prompt, id: panelId }: { prompt: SystemPrompt; id: string }) {
  const id = useId();
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => box.current?.focus(), []); // opened by its toggle: go on there
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
  }, [prompt.text]);
  const fieldError = prompt.error ? (fieldMessages(prompt.error)['system_prompt'] ?? errorMessage(prompt.error)) : null;
  return (
    <div className="system-prompt" id={panelId}>
      <label htmlFor={id}>{t('field.systemPrompt')}</label>
      <textarea
        ref={box}
        id={id}
        value={prompt.text}
        rows={1}
        placeholder={t('chat.systemPromptHelp')}
        aria-describedby={fieldError ? `${id}-error` : undefined}
        aria-invalid={fieldError ? true : undefined}
        onChange={(e) => prompt.change(e.target.value)}
        onBlur={() => void prompt.flush()}
      />
      <span role="status" className="system-prompt-status">
        {prompt.state === 'saving' ? t('chat.saving') : prompt.state === 'saved' ? t('chat.saved') : ''}
      </span>
      {fieldError && (
        <p id={`${id}-error`} className="field-error">
          {fieldError}
        </p>
      )}
    </div>
  );
}
