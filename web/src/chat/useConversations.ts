import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChatApi } from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { Conversation } from '../api/types';

const pageSize = 30;

export interface ConversationList {
  items: Conversation[];
  query: string;
  loading: boolean;
  hasMore: boolean;
  error: ApiError | null;
  search: (q: string) => void;
  loadMore: () => void;
  upsert: (c: Conversation, moveToTop?: boolean) => void;
  remove: (id: string) => void;
  refreshOne: (id: string) => Promise<void>;
}

// The sidebar's conversations: most recently updated first, a page at a time, filtered by
// a search over titles and message text (the server's `q`).
export function useConversations(api: ChatApi): ConversationList {
  const [items, setItems] = useState<Conversation[]>([]);
  const [query, setQuery] = useState('');
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const request = useRef<AbortController | null>(null);
  const queryRef = useRef('');

  const fetchPage = useCallback(
    async (q: string, after: string | null) => {
      request.current?.abort();
      const controller = new AbortController();
      request.current = controller;
      setLoading(true);
      setError(null);
      try {
        const page = await api.conversations({ q, limit: pageSize, cursor: after }, controller.signal);
        if (controller.signal.aborted) return;
        setItems((old) => {
          const base = after ? old : [];
          const seen = new Set(base.map((c) => c.id));
          return [...base, ...page.items.filter((c) => !seen.has(c.id))];
        });
        setCursor(page.next_cursor);
        setHasMore(page.next_cursor !== null);
      } catch (e) {
        const err = toApiError(e);
        if (err.kind !== 'aborted' && !controller.signal.aborted) setError(err);
      } finally {
        if (request.current === controller) {
          request.current = null;
          setLoading(false);
        }
      }
    },
    [api],
  );

  useEffect(() => {
    void fetchPage('', null);
    return () => request.current?.abort();
  }, [fetchPage]);

  const search = useCallback(
    (q: string) => {
      queryRef.current = q;
      setQuery(q);
      void fetchPage(q.trim(), null);
    },
    [fetchPage],
  );

  const loadMore = useCallback(() => {
    if (loading || !hasMore || !cursor) return;
    void fetchPage(queryRef.current.trim(), cursor);
  }, [loading, hasMore, cursor, fetchPage]);

  const upsert = useCallback((c: Conversation, moveToTop = false) => {
    setItems((old) => {
      const at = old.findIndex((x) => x.id === c.id);
      if (at < 0) return moveToTop && !queryRef.current.trim() ? [c, ...old] : old;
      if (moveToTop) return [c, ...old.slice(0, at), ...old.slice(at + 1)];
      return old.map((x) => (x.id === c.id ? c : x));
    });
  }, []);

  const remove = useCallback((id: string) => setItems((old) => old.filter((c) => c.id !== id)), []);

  const refreshOne = useCallback(
    async (id: string) => {
      try {
        const c = await api.conversation(id);
        upsert(c, true);
      } catch {
        // The list stays as it was; the next search or reload corrects it.
      }
    },
    [api, upsert],
  );

  return { items, query, loading, hasMore, error, search, loadMore, upsert, remove, refreshOne };
}
