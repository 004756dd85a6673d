import { en, type MessageKey, type Messages } from './en';

export type { MessageKey };

// The active catalogue. A translation would be another `Messages` object chosen at start
// (from navigator.language or a setting) before the first render.
let catalogue: Messages = en;

export function setMessages(messages: Messages): void {
  catalogue = messages;
}

// The text for `key`, with each `{name}` replaced by vars[name].
export function t(key: MessageKey, vars?: Readonly<Record<string, string | number>>): string {
  const text = catalogue[key];
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = vars[name];
    return value === undefined ? whole : String(value);
  });
}

// "3 minutes", "1 hour": a wait given in seconds, rounded up to a unit a person reads.
export function duration(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return s === 1 ? t('time.second') : t('time.seconds', { n: s });
  const m = Math.ceil(s / 60);
  if (m < 60) return m === 1 ? t('time.minute') : t('time.minutes', { n: m });
  const h = Math.ceil(m / 60);
  return h === 1 ? t('time.hour') : t('time.hours', { n: h });
}
