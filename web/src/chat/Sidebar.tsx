import { useEffect, useRef, useState, type Ref } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api/errors';
import type { Conversation } from '../api/types';
import { AccountMenu } from '../components/AccountMenu';
import { IconClose, IconDots, IconPlus, IconSearch } from '../components/Icons';
import { Menu } from '../components/Menu';
import { t } from '../i18n';
import type { ConversationList } from './useConversations';

interface SidebarProps {
  list: ConversationList;
  activeId: string | null;
  searchRef: Ref<HTMLInputElement>;
  onNewChat: () => void;
  onRename: (c: Conversation, title: string) => Promise<void>;
  onDelete: (c: Conversation) => void;
  onClose: (() => void) | null; // the drawer's close button, on narrow screens
}

export function conversationTitle(c: Conversation): string {
  return c.title.trim() || t('sidebar.untitled');
}

export function Sidebar({ list, activeId, searchRef, onNewChat, onRename, onDelete, onClose }: SidebarProps) {
  const [text, setText] = useState(list.query);
  const [renaming, setRenaming] = useState<string | null>(null);
  const sentinel = useRef<HTMLLIElement>(null);
  const scroller = useRef<HTMLElement>(null);
  const { search, loadMore } = list;

  // Search as you type, once the typing pauses.
  useEffect(() => {
    if (text === list.query) return;
    const timer = setTimeout(() => search(text), 250);
    return () => clearTimeout(timer);
  }, [text, list.query, search]);

  // Infinite scroll: the next page when the end of the list comes into view.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || typeof IntersectionObserver !== 'function') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) loadMore();
      },
      { root: scroller.current, rootMargin: '200px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [loadMore, list.items.length]);

  const q = list.query.trim();
  return (
    <div className="sidebar-inner">
      <div className="sidebar-head">
        <div className="sidebar-brand" aria-hidden="true">
          <span className="brand-mark" />
          <span>{t('app.name')}</span>
        </div>
        {onClose && (
          <button type="button" className="icon-button" aria-label={t('sidebar.close')} onClick={onClose}>
            <IconClose />
          </button>
        )}
      </div>
      <button type="button" className="button new-chat" onClick={onNewChat}>
        <IconPlus />
        {t('sidebar.newChat')}
      </button>
      <div className="sidebar-search">
        <IconSearch />
        <input
          ref={searchRef}
          type="search"
          aria-label={t('field.search')}
          placeholder={t('field.search')}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && text) {
              e.preventDefault();
              setText('');
            }
          }}
        />
      </div>
      <nav aria-label={t('sidebar.conversations')} className="conversation-nav" ref={scroller}>
        {list.error && (
          <p className="sidebar-note" role="alert">
            {errorMessage(list.error)}
          </p>
        )}
        {!list.loading && !list.error && list.items.length === 0 && (
          <p className="sidebar-note">{q ? t('sidebar.noMatch', { q }) : t('sidebar.empty')}</p>
        )}
        <ul className="conversation-list">
          {list.items.map((c) =>
            renaming === c.id ? (
              <RenameItem
                key={c.id}
                conversation={c}
                onDone={async (title) => {
                  setRenaming(null);
                  if (title !== null && title.trim() && title.trim() !== c.title) await onRename(c, title.trim());
                }}
              />
            ) : (
              <li key={c.id} className={`conversation-item${c.id === activeId ? ' active' : ''}`}>
                <Link to={`/chat/${encodeURIComponent(c.id)}`} aria-current={c.id === activeId ? 'page' : undefined} className="conversation-link">
                  {conversationTitle(c)}
                </Link>
                <Menu
                  label={t('sidebar.actions')}
                  buttonClassName="icon-button conversation-actions"
                  buttonContent={<IconDots />}
                  entries={[
                    { label: t('sidebar.rename'), onSelect: () => setRenaming(c.id) },
                    { label: t('sidebar.delete'), onSelect: () => onDelete(c), danger: true },
                  ]}
                />
              </li>
            ),
          )}
          <li ref={sentinel} className="list-sentinel" aria-hidden="true" />
        </ul>
        {list.loading && (
          <p className="sidebar-note" role="status">
            {t('sidebar.loadingMore')}
          </p>
        )}
      </nav>
      <div className="sidebar-foot">
        <AccountMenu />
      </div>
    </div>
  );
}

function RenameItem({ conversation, onDone }: { conversation: Conversation; onDone: (title: string | null) => Promise<void> }) {
  const [value, setValue] = useState(conversation.title);
  const input = useRef<HTMLInputElement>(null);
  const done = useRef(false);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  const finish = (title: string | null) => {
    if (done.current) return;
    done.current = true;
    void onDone(title);
  };
  return (
    <li className="conversation-item renaming">
      <input
        ref={input}
        className="rename-input"
        aria-label={t('sidebar.renameLabel')}
        value={value}
        maxLength={200}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            finish(value);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            finish(null);
          }
        }}
        onBlur={() => finish(value)}
      />
    </li>
  );
}
