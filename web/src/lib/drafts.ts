// What the user is typing, per conversation ("new" for a chat not created yet), kept in
// localStorage so that neither a reload nor the end of a session loses it.
import { readItem, removeItem, writeItem } from './storage';

const prefix = 'chatd.draft.';

export function loadDraft(conversation: string): string {
  return readItem(prefix + conversation) ?? '';
}

export function saveDraft(conversation: string, text: string): void {
  if (text) writeItem(prefix + conversation, text);
  else removeItem(prefix + conversation);
}

export function clearDraft(conversation: string): void {
  removeItem(prefix + conversation);
}

// A message on its way to the server, kept until the server has stored it: if the page
// goes away or the session ends first, the next view of the conversation gives it back
// to the user as a draft.
const pendingPrefix = 'chatd.pending.';

export function savePending(conversation: string, text: string): void {
  writeItem(pendingPrefix + conversation, text);
}

export function clearPending(conversation: string): void {
  removeItem(pendingPrefix + conversation);
}

export function takePending(conversation: string): string {
  const text = readItem(pendingPrefix + conversation) ?? '';
  if (text) removeItem(pendingPrefix + conversation);
  return text;
}
