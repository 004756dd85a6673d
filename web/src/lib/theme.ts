// Light, dark or the system's theme, persisted in localStorage. CSS reads the choice from
// <html data-theme>; "system" leaves the attribute out and lets prefers-color-scheme decide.
import { readItem, writeItem } from './storage';

export type Theme = 'light' | 'dark' | 'system';
export const themes: readonly Theme[] = ['light', 'dark', 'system'];
const key = 'chatd.theme';
const listeners = new Set<() => void>();

export function currentTheme(): Theme {
  const stored = readItem(key);
  return stored === 'light' || stored === 'dark' ? stored : 'system';
}

export function applyTheme(theme: Theme = currentTheme()): void {
  const root = document.documentElement;
  if (theme === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', theme);
}

export function setTheme(theme: Theme): void {
  writeItem(key, theme);
  applyTheme(theme);
  for (const l of listeners) l();
}

export function subscribeTheme(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === key) {
      applyTheme();
      listener();
    }
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}
