import { t } from '../../i18n';

export const passwordMin = 12;
export const passwordMax = 128;

// Characters as the server counts them (code points, not UTF-16 units).
export function passwordLength(password: string): number {
  return Array.from(password).length;
}

export function passwordLengthOk(password: string): boolean {
  const n = passwordLength(password);
  return n >= passwordMin && n <= passwordMax;
}

// The rules the password must meet, checked as the user types. The server has the last
// word (it also refuses common and breached passwords, which no client can list).
export function PasswordRules({ password, id }: { password: string; id: string }) {
  const n = passwordLength(password);
  const rules = [
    { ok: n >= passwordMin, text: t('register.ruleLength', { min: passwordMin }) },
    { ok: n <= passwordMax, text: t('register.ruleMax', { max: passwordMax }) },
  ];
  return (
    <div className="password-rules" id={id}>
      <ul>
        {rules.map((r) => (
          <li key={r.text} className={r.ok ? 'rule-ok' : 'rule-pending'}>
            <span className="rule-icon" aria-hidden="true">
              {r.ok ? '✓' : '•'}
            </span>
            {r.text}
            <span className="visually-hidden">: {r.ok ? t('register.ruleMet') : t('register.ruleNotMet')}</span>
          </li>
        ))}
        <li className="rule-info">
          <span className="rule-icon" aria-hidden="true">
            i
          </span>
          {t('register.ruleCommon')}
        </li>
      </ul>
    </div>
  );
}
