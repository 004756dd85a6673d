// Usage (loaded on demand, with the chart library): tokens and cost per day over the last
// 30 days, the totals per model, and today's quota.
import type { Quota, Usage, UsageNumbers, UsageRow } from '../../api/account';
import { BarChart } from '../../components/BarChart';
import { TotalsTable } from '../../components/TotalsTable';
import { t } from '../../i18n';
import { formatCost, formatNumber, fromNow, LoadState, SectionHeading, useAccountApi, useLoad } from './common';

export const usageDays = 30;

// "YYYY-MM-DD" of a UTC day (chatd groups usage by UTC day).
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// The last `days` UTC days, oldest first, today last.
export function lastDays(days: number, now: number = Date.now()): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(utcDay(now - i * 86_400_000));
  return out;
}

// One row per day, in order; days without usage (absent from the answer) are zeros.
export function fillDays(days: string[], items: UsageRow[]): UsageRow[] {
  const byDay = new Map(items.map((r) => [r.key, r]));
  return days.map((day) => byDay.get(day) ?? { key: day, requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
}

function dayLabel(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

function sum(rows: UsageRow[], pick: (r: UsageRow) => number): number {
  return rows.reduce((n, r) => n + pick(r), 0);
}

export default function UsageSection() {
  const api = useAccountApi();
  const days = lastDays(usageDays);
  const from = days[0]!;
  const usage = useLoad(async (signal) => {
    const [byDay, byModel] = await Promise.all([
      api.usage({ group_by: 'day', from }, signal),
      api.usage({ group_by: 'model', from }, signal),
    ]);
    return { byDay, byModel };
  });

  return (
    <section aria-labelledby="settings-usage-title" className="settings-section">
      <SectionHeading title={t('settings.nav.usage')} id="settings-usage-title" />
      <LoadState loaded={usage} />
      {usage.data && <UsageReport days={days} byDay={usage.data.byDay} byModel={usage.data.byModel} />}
    </section>
  );
}

function UsageReport({ days, byDay, byModel }: { days: string[]; byDay: Usage; byModel: Usage }) {
  const rows = fillDays(days, byDay.items ?? []);
  const models = [...(byModel.items ?? [])].sort(
    (a, b) => b.prompt_tokens + b.completion_tokens - (a.prompt_tokens + a.completion_tokens) || a.key.localeCompare(b.key),
  );
  const labels = rows.map((r) => dayLabel(r.key));
  const tokens = sum(rows, (r) => r.prompt_tokens + r.completion_tokens);
  const cost = sum(rows, (r) => r.cost_usd);
  const requests = sum(rows, (r) => r.requests);
  const busiest = rows.reduce<UsageRow | null>(
    (best, r) => (r.prompt_tokens + r.completion_tokens > (best ? best.prompt_tokens + best.completion_tokens : 0) ? r : best),
    null,
  );

  return (
    <>
      <QuotaBar quota={byDay.quota} />

      <section aria-labelledby="settings-usage-days" className="settings-block">
        <h3 id="settings-usage-days">{t('settings.usage.lastDays', { n: days.length })}</h3>
        <p>
          {t('settings.usage.periodTotals', {
            requests: requests === 1 ? t('settings.usage.requestOne') : t('settings.usage.requestMany', { n: formatNumber(requests) }),
            tokens: formatNumber(tokens),
            cost: formatCost(cost),
          })}
        </p>
        <h4>{t('settings.usage.tokensPerDay')}</h4>
        <BarChart
          labels={labels}
          series={[
            { label: t('settings.usage.prompt'), data: rows.map((r) => r.prompt_tokens) },
            { label: t('settings.usage.completion'), data: rows.map((r) => r.completion_tokens) },
          ]}
          stacked
          format={formatNumber}
          height={240}
          summary={
            busiest
              ? t('settings.usage.tokensSummary', {
                  n: days.length,
                  tokens: formatNumber(tokens),
                  day: dayLabel(busiest.key),
                  most: formatNumber(busiest.prompt_tokens + busiest.completion_tokens),
                })
              : t('settings.usage.tokensSummaryNone', { n: days.length })
          }
          caption={t('settings.usage.tokensPerDay')}
        />
        <h4>{t('settings.usage.costPerDay')}</h4>
        <BarChart
          labels={labels}
          series={[{ label: t('settings.usage.cost'), data: rows.map((r) => r.cost_usd) }]}
          format={formatCost}
          height={200}
          summary={t('settings.usage.costSummary', { n: days.length, cost: formatCost(cost) })}
          caption={t('settings.usage.costPerDay')}
        />
      </section>

      <section aria-labelledby="settings-usage-models" className="settings-block">
        <h3 id="settings-usage-models">{t('settings.usage.perModel', { n: days.length })}</h3>
        {models.length === 0 ? (
          <p className="muted">{t('settings.usage.noModels', { n: days.length })}</p>
        ) : (
          <TotalsTable<UsageNumbers>
            caption={t('settings.usage.perModel', { n: days.length })}
            nameHeader={t('settings.usage.model')}
            columns={[
              { label: t('settings.usage.requests'), value: (m) => formatNumber(m.requests) },
              { label: t('settings.usage.prompt'), value: (m) => formatNumber(m.prompt_tokens) },
              { label: t('settings.usage.completion'), value: (m) => formatNumber(m.completion_tokens) },
              { label: t('settings.usage.cost'), value: (m) => formatCost(m.cost_usd) },
            ]}
            rows={models.map((m) => ({ key: m.key, name: m.key, value: m }))}
            total={{
              name: t('settings.usage.total'),
              value: {
                requests: sum(models, (m) => m.requests),
                prompt_tokens: sum(models, (m) => m.prompt_tokens),
                completion_tokens: sum(models, (m) => m.completion_tokens),
                cost_usd: sum(models, (m) => m.cost_usd),
              },
            }}
            className="data-table settings-table"
          />
        )}
      </section>

      <section aria-labelledby="settings-usage-all" className="settings-block">
        <h3 id="settings-usage-all">{t('settings.usage.allTime')}</h3>
        <dl className="facts">
          <dt>{t('settings.usage.requests')}</dt>
          <dd>{formatNumber(byDay.requests)}</dd>
          <dt>{t('settings.usage.prompt')}</dt>
          <dd>{formatNumber(byDay.prompt_tokens)}</dd>
          <dt>{t('settings.usage.completion')}</dt>
          <dd>{formatNumber(byDay.completion_tokens)}</dd>
          <dt>{t('settings.usage.cost')}</dt>
          <dd>{formatCost(byDay.cost_usd)}</dd>
        </dl>
      </section>
    </>
  );
}

function resetTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });
}

function QuotaBar({ quota }: { quota: Quota | null }) {
  if (!quota) {
    return (
      <section aria-labelledby="settings-usage-quota" className="settings-block">
        <h3 id="settings-usage-quota">{t('settings.usage.quota')}</h3>
        <p>{t('settings.usage.noQuota')}</p>
      </section>
    );
  }
  const limit = Math.max(0, quota.limit);
  const used = Math.min(limit, Math.max(0, limit - quota.remaining));
  const percent = limit > 0 ? Math.round((used / limit) * 100) : 100;
  const text = t('settings.usage.quotaUsed', { used: formatNumber(used), limit: formatNumber(limit), percent });
  return (
    <section aria-labelledby="settings-usage-quota" className="settings-block">
      <h3 id="settings-usage-quota">{t('settings.usage.quota')}</h3>
      <div
        className={`quota-bar${percent >= 90 ? ' quota-high' : ''}`}
        role="progressbar"
        aria-labelledby="settings-usage-quota"
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={used}
        aria-valuetext={text}
      >
        <div className="quota-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="quota-text">{text}</p>
      <p className="muted">
        {t('settings.usage.resets', { time: resetTime(quota.resets_at), when: fromNow(quota.resets_at) })}
      </p>
    </section>
  );
}
