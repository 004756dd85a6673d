import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../api/admin';
import { auditText } from './auditText';
import { addDays, csvField, daysBetween, isDay, lastDays, toCsv } from './format';

describe('CSV', () => {
  it('quotes fields with commas, quotes and line breaks, doubling the quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(Number.NaN)).toBe('');
  });

  it('keeps spreadsheets from running text as a formula', () => {
    expect(csvField('=SUM(A1:A2)')).toBe("'=SUM(A1:A2)");
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-bob')).toBe("'-bob");
    expect(csvField('@x')).toBe("'@x");
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it('writes a header and rows with CRLF line ends', () => {
    expect(
      toCsv(
        ['model', 'requests'],
        [
          ['gpt, "big"', 3],
          ['small', 0],
        ],
      ),
    ).toBe('model,requests\r\n"gpt, ""big""",3\r\nsmall,0\r\n');
  });
});

describe('days', () => {
  it('counts UTC days, both ends included', () => {
    expect(addDays('2025-02-27', 2)).toBe('2025-03-01');
    expect(addDays('2025-01-01', -1)).toBe('2024-12-31');
    expect(daysBetween('2024-12-30', '2025-01-02')).toEqual(['2024-12-30', '2024-12-31', '2025-01-01', '2025-01-02']);
    expect(daysBetween('2025-01-02', '2025-01-01')).toEqual([]);
    expect(lastDays(30, new Date('2025-03-10T23:59:00Z'))).toEqual({ from: '2025-02-09', to: '2025-03-10' });
    expect(isDay('2025-03-10')).toBe(true);
    expect(isDay('2025-3-10')).toBe(false);
    expect(isDay('')).toBe(false);
  });
});

function entry(over: Partial<AuditEntry>): AuditEntry {
  return {
    id: 'a1',
    at: '2025-01-01T00:00:00Z',
    event: 'login.succeeded',
    user_id: 'u-bob',
    actor_id: null,
    ip: '10.0.0.1',
    user_agent: null,
    detail: {},
    username: 'bob',
    actor_username: null,
    ...over,
  };
}

describe('audit sentences', () => {
  it('says who did what to whom', () => {
    expect(auditText(entry({ event: 'user.disabled', actor_id: 'u-alice', actor_username: 'alice' }))).toBe(
      'alice disabled the account of bob',
    );
    expect(auditText(entry({ event: 'user.unlocked', actor_id: 'u-alice', actor_username: 'alice' }))).toBe(
      'alice unlocked the account of bob',
    );
    expect(auditText(entry({ event: 'login.succeeded' }))).toBe('bob signed in');
    expect(auditText(entry({ event: 'password.changed', actor_id: 'u-bob', actor_username: 'bob' }))).toBe('bob changed their password');
    expect(auditText(entry({ event: 'session.revoked', actor_id: 'u-alice', actor_username: 'alice' }))).toBe(
      'alice revoked the sessions of bob',
    );
    expect(auditText(entry({ event: 'session.revoked', actor_id: 'u-bob', actor_username: 'bob' }))).toBe('bob signed out');
  });

  it('reads role changes as granting or removing the administrator role', () => {
    const by = { event: 'role.changed', actor_id: 'u-alice', actor_username: 'alice' };
    expect(auditText(entry({ ...by, detail: { from: ['user'], to: ['admin', 'user'] } }))).toBe('alice made bob an administrator');
    expect(auditText(entry({ ...by, detail: { from: ['admin', 'user'], to: ['user'] } }))).toBe(
      'alice removed the administrator role of bob',
    );
    expect(auditText(entry({ event: 'role.changed', detail: { added: 'admin', by: 'create-admin' } }))).toBe(
      'bob was made an administrator on the command line',
    );
    expect(auditText(entry({ ...by, detail: { from: ['user'], to: ['auditor', 'user'] } }))).toBe(
      'alice changed the roles of bob to auditor, user',
    );
  });

  it('copes with missing names and unknown events', () => {
    expect(auditText(entry({ event: 'login.failed', user_id: null, username: null }))).toBe('Failed sign-in to an unknown account');
    expect(auditText(entry({ event: 'login.failed' }))).toBe('Failed sign-in to the account of bob');
    expect(auditText(entry({ event: 'login.succeeded', username: null, user_id: '0190a1b2-c3d4-7e5f' }))).toBe(
      'user 0190a1b2 signed in',
    );
    expect(auditText(entry({ event: 'key.rotated', user_id: null, username: null, actor_id: 'u-alice', actor_username: 'alice' }))).toBe(
      'alice rotated the signing key',
    );
    expect(auditText(entry({ event: 'something.new' }))).toBe('something.new: bob');
    expect(auditText(entry({ event: 'something.new', actor_id: 'u-alice', actor_username: 'alice' }))).toBe(
      'something.new: alice, about bob',
    );
    expect(auditText(entry({ event: 'user.registered', detail: { by: 'create-admin' } }))).toBe(
      'The account of bob was created on the command line',
    );
  });
});
