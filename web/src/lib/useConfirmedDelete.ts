import { useState } from 'react';
import { toApiError, type ApiError } from '../api/errors';

export interface ConfirmedDelete<T> {
  target: T | null; // what the open confirmation is about; null when none is open
  busy: boolean;
  error: ApiError | null;
  ask: (item: T) => void;
  cancel: () => void;
  confirm: () => Promise<void>;
}

// A delete that waits for a confirmation: `ask(item)` opens it, `confirm()` deletes. An item
// that is already gone (404) counts as deleted: `onGone(item)` runs and the confirmation
// closes. Any other failure stays in `error`, with the confirmation still open.
export function useConfirmedDelete<T>(remove: (item: T) => Promise<unknown>, onGone: (item: T) => void): ConfirmedDelete<T> {
  const [target, setTarget] = useState<T | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const ask = (item: T) => {
    setError(null);
    setTarget(item);
  };

  async function confirm() {
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await remove(target);
    } catch (e) {
      const err = toApiError(e);
      if (err.code !== 'not_found') {
        setError(err);
        setBusy(false);
        return;
      }
    }
    onGone(target);
    setTarget(null);
    setBusy(false);
  }

  return { target, busy, error, ask, cancel: () => setTarget(null), confirm };
}
