// localStorage that never throws (storage can be disabled or full). Nothing secret goes
// here: see README.md, "Where each token lives".
export type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function browserStorage(): KeyValueStore | null {
  try {
    return typeof window !== 'undefined' ? window.localStorage : null;
  } catch {
    return null;
  }
}

export function readItem(key: string, store: KeyValueStore | null = browserStorage()): string | null {
  try {
    return store ? store.getItem(key) : null;
  } catch {
    return null;
  }
}

export function writeItem(key: string, value: string, store: KeyValueStore | null = browserStorage()): void {
  try {
    store?.setItem(key, value);
  } catch {
    // Full or disabled: the value lives as long as the page instead.
  }
}

export function removeItem(key: string, store: KeyValueStore | null = browserStorage()): void {
  try {
    store?.removeItem(key);
  } catch {
    // As above.
  }
}
