// Usage over a range of days (the last 30 by default; in the address as ?from=&to=): tokens per
// day and model (a stacked bar chart), the ten users with the most tokens (horizontal bars)
// and every user and model in tables. Each section exports its numbers as CSV. Loaded on
// demand: it brings Chart.js.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import type { DayModelUsage, ModelUsage, UsageTotals, UserUsage } from '../../api/admin';
import { toApiError } from '../../api/errors';
import { BarChart } from '../../components/BarChart';
import { Field } from '../../components/Field';
import { TotalsTable } from '../../components/TotalsTable';
import { t } from '../../i18n';
import { ErrorAlert, PageHeading, useAdminApi, usePageTitle } from './common';
import { addDays, daysBetween, downloadCsv, formatNumber, formatUsd, isDay, lastDays, toCsv, type CsvCell } from './format';

const topUsers = 10;

interface Usage {
  days: DayModelUsage[];
  users: UserUsage[];
  models: ModelUsage[];
}

const tokens = (u: UsageTotals) => u.prompt_tokens + u.completion_tokens;

function byTokens<T extends UsageTotals>(rows: T[]): T[] {
  return [...rows].sort((a, b) => tokens(b) - tokens(a));
}

function userName(u: UserUsage): string {
  return u.username ?? u.key;
}

// The day-and-model rows as a chart: every day of the range, one series a model (the model
// with the most tokens first).
export function perDayChart(rows: DayModelUsage[], from: string, to: string) {
  const labels = daysBetween(from, to);
  const index = new Map(labels.map((d, i) => [d, i]));
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.model, (totals.get(r.model) ?? 0) + tokens(r));
  const models = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || a.localeCompare(b));
  const series = models.map((model) => ({ label: model, data: labels.map(() => 0) }));
  for (const r of rows) {
    const i = index.get(r.key);
    const s = series[models.indexOf(r.model)];
    if (i !== undefined && s) s.data[i] = (s.data[i] ?? 0) + tokens(r);
  }
  return { labels, series, totals: models.map((m) => ({ name: m, tokens: totals.get(m)! })) };
}

export default function UsagePage() {
  const api = useAdminApi();
  usePageTitle(t('console.section.usage'));
  const [params, setParams] = useSearchParams();
  const fallback = useMemo(() => lastDays(30), []);
  const from = isDay(params.get('from') ?? '') ? params.get('from')! : fallback.from;
  const to = isDay(params.get('to') ?? '') ? params.get('to')! : fallback.to;
  const [form, setForm] = useState({ from, to });
  const [usage, setUsage] = useState<Usage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => setForm({ from, to }), [from, to]);
  const rangeInvalid = isDay(form.from) && isDay(form.to) && form.from > form.to;

  // A complete, valid range goes into the address at once (a date field changes only when
  // its date is whole).
  const change = (next: { from: string; to: string }) => {
    setForm(next);
    if (isDay(next.from) && isDay(next.to) && next.from <= next.to) setParams(next, { replace: true });
  };

  useEffect(() => {
    const abort = new AbortController();
    const range = { from, to: addDays(to, 1) };
    setLoading(true);
    setError(null);
    Promise.all([
      api.usageByDayAndModel(range, abort.signal),
      api.usageByUser(range, abort.signal),
      api.usageByModel(range, abort.signal),
    ])
      .then(([days, users, models]) => setUsage({ days: days.items, users: users.items, models: models.items }))
      .catch((e: unknown) => {
        if (toApiError(e).kind !== 'aborted') setError(e);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [api, from, to]);

  const perDay = useMemo(() => (usage ? perDayChart(usage.days, from, to) : null), [usage, from, to]);
  const users = useMemo(() => (usage ? byTokens(usage.users) : []), [usage]);
  const models = useMemo(() => (usage ? byTokens(usage.models) : []), [usage]);
  const top = useMemo(() => {
    const list = users.slice(0, topUsers);
    return {
      labels: list.map(userName),
      series: [
        { label: t('console.usage.prompt'), data: list.map((u) => u.prompt_tokens) },
        { label: t('console.usage.completion'), data: list.map((u) => u.completion_tokens) },
      ],
    };
  }, [users]);

  const list = (items: { name: string; tokens: number }[]) =>
    items.map((i) => t('console.usage.tokensOf', { name: i.name, n: formatNumber(i.tokens) })).join(', ');
  const empty = usage !== null && usage.days.length === 0 && usage.users.length === 0 && usage.models.length === 0;
  const file = (what: string) => `chatd-usage-${what}-${from}-to-${to}.csv`;

  return (
    <>
      <PageHeading>{t('console.section.usage')}</PageHeading>
      <form className="console-filters" onSubmit={(e) => e.preventDefault()}>
        <Field
          label={t('console.from')}
          type="date"
          value={form.from}
          max={form.to || undefined}
          required
          onChange={(e) => change({ ...form, from: e.target.value })}
        />
        <Field
          label={t('console.to')}
          type="date"
          value={form.to}
          min={form.from || undefined}
          required
          onChange={(e) => change({ ...form, to: e.target.value })}
          error={rangeInvalid ? t('console.rangeInvalid') : undefined}
        />
        <p className="field-help console-filters-note">{t('console.utcDays')}</p>
      </form>
      <ErrorAlert error={error} />
      <div aria-busy={loading} className="usage-sections">
        {empty && <p className="muted">{t('console.usage.none')}</p>}
        {usage && !empty && perDay && (
          <>
            <UsageSection
              id="usage-per-day"
              title={t('console.usage.perDay')}
              onExport={() =>
                downloadCsv(
                  file('per-day'),
                  toCsv(
                    ['day', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'cost_usd'],
                    [...usage.days]
                      .sort((a, b) => a.key.localeCompare(b.key) || a.model.localeCompare(b.model))
                      .map((r) => [r.key, r.model, r.requests, r.prompt_tokens, r.completion_tokens, r.cost_usd]),
                  ),
                )
              }
            >
              <BarChart
                labels={perDay.labels}
                series={perDay.series}
                stacked
                format={formatNumber}
                summary={t('console.usage.perDaySummary', { from, to, list: list(perDay.totals) })}
              />
            </UsageSection>

            <UsageSection
              id="usage-users"
              title={t('console.usage.topUsers')}
              onExport={() =>
                downloadCsv(
                  file('per-user'),
                  toCsv(
                    ['user_id', 'username', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd'],
                    users.map((u) => [u.key, u.username, u.requests, u.prompt_tokens, u.completion_tokens, tokens(u), u.cost_usd]),
                  ),
                )
              }
            >
              <BarChart
                labels={top.labels}
                series={top.series}
                stacked
                horizontal
                format={formatNumber}
                table={false}
                summary={t('console.usage.topUsersSummary', {
                  n: top.labels.length,
                  from,
                  to,
                  list: list(users.slice(0, topUsers).map((u) => ({ name: userName(u), tokens: tokens(u) }))),
                })}
              />
              <UsageTable
                caption={t('console.usage.byUser')}
                nameHeader={t('console.usage.user')}
                rows={users.map((u) => ({ key: u.key, name: userName(u), totals: u }))}
              />
            </UsageSection>

            <UsageSection
              id="usage-models"
              title={t('console.usage.byModel')}
              onExport={() =>
                downloadCsv(
                  file('per-model'),
                  toCsv(
                    ['model', 'requests', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost_usd'],
                    models.map((m) => [m.key, m.requests, m.prompt_tokens, m.completion_tokens, tokens(m), m.cost_usd] as CsvCell[]),
                  ),
                )
              }
            >
              <UsageTable
                caption={t('console.usage.byModel')}
                nameHeader={t('console.usage.model')}
                rows={models.map((m) => ({ key: m.key, name: m.key, totals: m }))}
                total
              />
            </UsageSection>
          </>
        )}
      </div>
    </>
  );
}

function UsageSection({ id, title, onExport, children }: { id: string; title: string; onExport: () => void; children: ReactNode }) {
  return (
    <section className="console-card usage-section" aria-labelledby={id}>
      <div className="usage-section-head">
        <h2 id={id}>{title}</h2>
        <button type="button" className="button button-small" onClick={onExport}>
          {t('console.export')}
        </button>
      </div>
      {children}
    </section>
  );
}

function UsageTable({
  caption,
  nameHeader,
  rows,
  total = false,
}: {
  caption: string;
  nameHeader: string;
  rows: { key: string; name: string; totals: UsageTotals }[];
  total?: boolean;
}) {
  const sum = rows.reduce(
    (acc, r) => ({
      requests: acc.requests + r.totals.requests,
      prompt_tokens: acc.prompt_tokens + r.totals.prompt_tokens,
      completion_tokens: acc.completion_tokens + r.totals.completion_tokens,
      cost_usd: acc.cost_usd + r.totals.cost_usd,
    }),
    { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
  );
  return (
    <TotalsTable<UsageTotals>
      caption={caption}
      nameHeader={nameHeader}
      columns={[
        { label: t('console.usage.requests'), value: (u) => formatNumber(u.requests) },
        { label: t('console.usage.prompt'), value: (u) => formatNumber(u.prompt_tokens) },
        { label: t('console.usage.completion'), value: (u) => formatNumber(u.completion_tokens) },
        { label: t('console.usage.tokens'), value: (u) => formatNumber(tokens(u)) },
        { label: t('console.usage.cost'), value: (u) => formatUsd(u.cost_usd) },
      ]}
      rows={rows.map((r) => ({ key: r.key, name: r.name, value: r.totals }))}
      total={total && rows.length > 1 ? { name: t('console.usage.total'), value: sum } : null}
      className="data-table usage-table"
    />
  );
}
