// The shared bar chart (components/BarChart.tsx), with Chart.js replaced by a recorder.
import { act, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BarChart } from '../../components/BarChart';
import { setTheme } from '../../lib/theme';

interface Recorded {
  config: {
    data: { labels: string[]; datasets: { label: string; data: number[]; backgroundColor: string }[] };
    options: {
      indexAxis: string;
      scales: Record<string, { stacked?: boolean; ticks: { color: string; callback?: (v: number) => string } }>;
      plugins: { legend: { display: boolean } };
    };
  };
  destroyed: boolean;
}

const charts = vi.hoisted(() => [] as Recorded[]);
vi.mock('chart.js', () => {
  class Chart {
    static register() {}
    config: unknown;
    destroyed = false;
    constructor(_canvas: unknown, config: unknown) {
      this.config = config;
      charts.push(this as never);
    }
    destroy() {
      this.destroyed = true;
    }
  }
  return { Chart, BarController: {}, BarElement: {}, CategoryScale: {}, LinearScale: {}, Legend: {}, Tooltip: {} };
});

// The theme's variables as console.css sets them (jsdom does not load the CSS files).
let sheet: HTMLStyleElement;
beforeEach(() => {
  charts.length = 0;
  sheet = document.createElement('style');
  sheet.textContent = `
    :root { --chart-1: #111111; --chart-2: #222222; --text-muted: #565d66; --border: #d6d9de; }
    :root[data-theme='dark'] { --chart-1: #aaaaaa; --chart-2: #bbbbbb; --text-muted: #a9adb5; --border: #3a3d43; }`;
  document.head.append(sheet);
});
afterEach(() => {
  sheet.remove();
  document.documentElement.removeAttribute('data-theme');
});

const live = () => charts.filter((c) => !c.destroyed);

describe('BarChart', () => {
  it('draws stacked series in the theme colours, with its summary as the accessible name and the numbers as a table', () => {
    render(
      <BarChart
        labels={['Mon', 'Tue']}
        series={[
          { label: 'gpt-a', data: [1000, 2] },
          { label: 'gpt-b', data: [3, 4] },
        ]}
        stacked
        format={(v) => `${v} tok`}
        summary="Tokens per day: gpt-a 1002, gpt-b 7."
      />,
    );
    expect(screen.getByRole('img', { name: 'Tokens per day: gpt-a 1002, gpt-b 7.' }).tagName).toBe('CANVAS');
    const [chart] = live();
    expect(chart!.config.data.labels).toEqual(['Mon', 'Tue']);
    expect(chart!.config.data.datasets.map((d) => [d.label, d.data, d.backgroundColor])).toEqual([
      ['gpt-a', [1000, 2], '#111111'],
      ['gpt-b', [3, 4], '#222222'],
    ]);
    expect(chart!.config.options.indexAxis).toBe('x');
    expect(chart!.config.options.scales['x']!.stacked).toBe(true);
    expect(chart!.config.options.scales['y']!.ticks.color).toBe('#565d66');
    expect(chart!.config.options.scales['y']!.ticks.callback!(5)).toBe('5 tok');
    expect(chart!.config.options.plugins.legend.display).toBe(true);

    const table = screen.getByRole('table', { name: 'Tokens per day: gpt-a 1002, gpt-b 7.' });
    expect(within(table).getAllByRole('row').map((r) => r.textContent)).toEqual(['Labelgpt-agpt-b', 'Mon1000 tok3 tok', 'Tue2 tok4 tok']);
  });

  it('lays bars along the x axis when horizontal, without a legend for one series or a table when told', () => {
    render(<BarChart labels={['ann', 'bob']} series={[{ label: 'Tokens', data: [5, 3] }]} horizontal table={false} summary="Top users." />);
    const [chart] = live();
    expect(chart!.config.options.indexAxis).toBe('y');
    expect(chart!.config.options.plugins.legend.display).toBe(false);
    expect(screen.queryByRole('table')).toBeNull();
  });

  it('draws again in the new colours when the theme changes, and not for equal data', () => {
    const { rerender } = render(<BarChart labels={['a']} series={[{ label: 's', data: [1] }]} summary="One." />);
    expect(live()).toHaveLength(1);
    rerender(<BarChart labels={['a']} series={[{ label: 's', data: [1] }]} summary="One." />);
    expect(charts).toHaveLength(1); // new arrays, same numbers: the same chart

    act(() => setTheme('dark'));
    expect(charts).toHaveLength(2);
    expect(charts[0]!.destroyed).toBe(true);
    expect(live()[0]!.config.data.datasets[0]!.backgroundColor).toBe('#aaaaaa');
    expect(live()[0]!.config.options.scales['y']!.ticks.color).toBe('#a9adb5');
    act(() => setTheme('light'));
    expect(live()[0]!.config.data.datasets[0]!.backgroundColor).toBe('#111111');

    rerender(<BarChart labels={['a']} series={[{ label: 's', data: [2] }]} summary="One." />);
    expect(live()).toHaveLength(1);
    expect(live()[0]!.config.data.datasets[0]!.data).toEqual([2]);
  });

  it('lets go of the chart when it leaves the page', () => {
    const { unmount } = render(<BarChart labels={['a']} series={[{ label: 's', data: [1] }]} summary="One." />);
    unmount();
    expect(live()).toHaveLength(0);
  });
});
