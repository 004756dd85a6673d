import { screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { BarChartProps } from '../../components/BarChart';
import { fillDays, lastDays } from './UsageSection';
import { json, renderSettings } from './testkit';

// jsdom has no canvas: the chart is its text alternative here.
vi.mock('../../components/BarChart', () => ({
  BarChart: ({ summary, labels, series }: BarChartProps) => (
    <figure role="img" aria-label={summary} data-labels={labels.join('|')} data-series={JSON.stringify(series)} />
  ),
}));

describe('lastDays and fillDays', () => {
  it('gives the last 30 UTC days, today last, days without usage as zeros', () => {
    const days = lastDays(30, Date.UTC(2025, 2, 10, 23, 30));
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2025-02-09');
    expect(days[29]).toBe('2025-03-10');
    const rows = fillDays(days, [{ key: '2025-03-01', requests: 2, prompt_tokens: 10, completion_tokens: 5, cost_usd: 0.01 }]);
    expect(rows).toHaveLength(30);
    expect(rows.filter((r) => r.requests > 0).map((r) => r.key)).toEqual(['2025-03-01']);
    expect(rows[0]).toEqual({ key: '2025-02-09', requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 });
  });
});

function today(offsetDays = 0): string {
  return new Date(Date.now() - offsetDays * 86_400_000).toISOString().slice(0, 10);
}

describe('UsageSection', () => {
  it('charts the days, totals the models and shows the quota with its reset', async () => {
    const resets = new Date(Date.now() + 5 * 3600e3);
    const totals = { requests: 12, prompt_tokens: 1200, completion_tokens: 800, cost_usd: 0.5 };
    const quota = { limit: 10000, remaining: 7500, resets_at: resets.toISOString() };
    const { calls } = await renderSettings('/settings/usage', {
      'GET /usage': ({ url }) =>
        url.searchParams.get('group_by') === 'day'
          ? json(200, {
              ...totals,
              quota,
              items: [
                { key: today(2), requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0.01 },
                { key: today(0), requests: 3, prompt_tokens: 1500, completion_tokens: 1000, cost_usd: 0.2 },
              ],
            })
          : json(200, {
              ...totals,
              quota,
              items: [
                { key: 'gpt-small', requests: 1, prompt_tokens: 100, completion_tokens: 50, cost_usd: 0.01 },
                { key: 'gpt-big', requests: 3, prompt_tokens: 1500, completion_tokens: 1000, cost_usd: 0.2 },
              ],
            }),
    });
    const chart = await screen.findByRole('img', { name: /^Tokens per day over the last 30 days: 2,650 in all/ });
    const series = JSON.parse(chart.getAttribute('data-series')!) as { data: number[] }[];
    expect(series[0]!.data).toHaveLength(30);
    expect(series[0]!.data.at(-1)).toBe(1500);
    expect(series[1]!.data.at(-3)).toBe(50);
    expect(series[0]!.data.filter((n) => n > 0)).toHaveLength(2);
    expect(screen.getByRole('img', { name: /^Cost per day over the last 30 days: \$0\.21 in all/ })).toBeTruthy();
    const from = today(29);
    expect(calls.map((c) => c.path).filter((p) => p.startsWith('/usage')).sort()).toEqual([
      `/usage?group_by=day&from=${from}`,
      `/usage?group_by=model&from=${from}`,
    ]);

    const table = screen.getByRole('table', { name: 'Per model, the last 30 days' });
    const rows = within(table).getAllByRole('row').map((r) => Array.from(r.querySelectorAll('th, td'), (c) => c.textContent));
    expect(rows[1]![0]).toBe('gpt-big');
    expect(rows[2]![0]).toBe('gpt-small');
    expect(rows[3]).toEqual(['Total', '4', '1,600', '1,050', '$0.21']);

    const bar = screen.getByRole('progressbar', { name: 'Today’s quota' });
    expect(bar.getAttribute('aria-valuenow')).toBe('2500');
    expect(bar.getAttribute('aria-valuemax')).toBe('10000');
    expect(bar.getAttribute('aria-valuetext')).toBe('2,500 of 10,000 tokens used today (25%)');
    const hhmm = resets.toISOString().slice(11, 16);
    expect(screen.getByText(`Resets at ${hhmm} UTC, in 5 hours.`)).toBeTruthy();
  });

  it('says when there is no quota and no usage', async () => {
    await renderSettings('/settings/usage', {
      'GET /usage': () => json(200, { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, quota: null, items: [] }),
    });
    expect(await screen.findByText('Your account has no daily quota.')).toBeTruthy();
    expect(screen.getByText('No requests in the last 30 days.')).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Tokens per day over the last 30 days: none.' })).toBeTruthy();
    expect(screen.queryByRole('progressbar')).toBeNull();
  });
});
