// An audit entry as a sentence: who did what to whom ("alice disabled the account of bob").
// The sentence comes as pieces, so that the page can make each person a link.
import type { AuditEntry } from '../../api/admin';
import { t, type MessageKey } from '../../i18n';
import { en } from '../../i18n/en';

export type Piece = string | { user: string | null; name: string };

function person(id: string | null, name: string | null): { user: string | null; name: string } {
  if (name) return { user: id, name };
  if (id) return { user: id, name: t('console.audit.userRef', { id: id.slice(0, 8) }) };
  return { user: null, name: t('console.audit.someone') };
}

// Every catalogue has the keys of the English one.
function has(key: string): key is MessageKey {
  return key in en;
}

function rolesOf(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((r) => typeof r === 'string') ? (value as string[]) : null;
}

// Splits a template at its {placeholders}, putting each value in its place.
function fill(template: string, values: Record<string, Piece>): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const value = values[m[1]!];
    if (value === undefined) continue;
    if (m.index > last) out.push(template.slice(last, m.index));
    out.push(value);
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push(template.slice(last));
  return out;
}

export function auditSentence(entry: AuditEntry): Piece[] {
  const subject = entry.user_id || entry.username ? person(entry.user_id, entry.username) : null;
  const actor = entry.actor_id || entry.actor_username ? person(entry.actor_id, entry.actor_username) : null;
  // Done by someone else (an administrator) or by the user themselves (or by nobody: a
  // failed sign-in, a reused token).
  const byOther = actor !== null && (entry.actor_id ?? entry.actor_username) !== (entry.user_id ?? entry.username);
  const who = subject ?? actor;
  const base = `console.event.${entry.event}`;
  const values: Record<string, Piece> = { event: entry.event };
  if (who) values['user'] = who;
  if (actor) values['actor'] = actor;

  if (entry.event === 'role.changed' && who) {
    const from = rolesOf(entry.detail['from']);
    const to = rolesOf(entry.detail['to']);
    // `chatd create-admin` on an existing account: {added: "admin", by: "create-admin"}.
    if (entry.detail['by'] === 'create-admin') return fill(t('console.event.role.granted.cli'), values);
    if (!to) return fill(t(byOther ? 'console.event.other.by' : 'console.event.other'), values);
    values['roles'] = to.join(', ');
    if (byOther && from) {
      if (!from.includes('admin') && to.includes('admin')) return fill(t('console.event.role.granted.by'), values);
      if (from.includes('admin') && !to.includes('admin')) return fill(t('console.event.role.removed.by'), values);
    }
  }
  if (entry.event === 'user.registered' && entry.detail['by'] === 'create-admin' && who) {
    return fill(t('console.event.user.registered.cli'), values);
  }
  if (!who) {
    const none = `${base}.none`;
    if (has(none)) return fill(t(none), values);
  }
  if (byOther) {
    const by = `${base}.by`;
    if (has(by)) return fill(t(by), values);
  }
  if (has(base) && who) return fill(t(base), values);
  if (!who) values['user'] = t('console.audit.unknownAccount');
  return fill(t(byOther ? 'console.event.other.by' : 'console.event.other'), values);
}

// The sentence as plain text (for tests and titles).
export function auditText(entry: AuditEntry): string {
  return auditSentence(entry)
    .map((p) => (typeof p === 'string' ? p : p.name))
    .join('');
}
