import { createContext, useContext, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { chatApi, publicApi, type ChatApi, type PublicApi } from '../api/client';
import type { SessionManager, SessionState } from './session';

interface SessionContextValue {
  session: SessionManager;
  api: ChatApi;
  publicApi: PublicApi;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({
  session,
  publicApi: pub,
  children,
}: {
  session: SessionManager;
  publicApi?: PublicApi;
  children: ReactNode;
}) {
  const value = useMemo(() => ({ session, api: chatApi(session), publicApi: pub ?? publicApi() }), [session, pub]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

function useSessionContext(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('no SessionProvider above this component');
  return value;
}

export function useSessionManager(): SessionManager {
  return useSessionContext().session;
}

export function useSessionState(): SessionState {
  const { session } = useSessionContext();
  return useSyncExternalStore(session.subscribe, session.getState, session.getState);
}

export function useApi(): ChatApi {
  return useSessionContext().api;
}

export function usePublicApi(): PublicApi {
  return useSessionContext().publicApi;
}
