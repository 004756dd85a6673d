// A bar chart (Chart.js, on a canvas) that follows the theme and has a text alternative.
//
// - Only the pieces used here are registered, so the bundle carries the bar controller, its
//   element, the two scales, the legend and the tooltip, and nothing else of Chart.js.
// - The page's CSP allows no inline style: Chart.js 4 injects no <style> element and sizes
//   its canvas through the CSSOM, which the CSP allows; the box it fills gets its height the
//   same way (React's style prop).
// - Colours are the theme's CSS variables (`--chart-1`...`--chart-8` for the series, with
//   `--text-muted`, `--border`, `--bg-raised`, `--text` around them), read when the chart is
//   drawn; a change of theme (chosen, or the system's) draws it again.
// - The canvas is an image named by `summary`; under it, the same numbers as a table
//   (unless `table` is false because the page shows them elsewhere).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { t } from '../i18n';
import { currentTheme, subscribeTheme } from '../lib/theme';
import { useMediaQuery } from '../lib/useMediaQuery';
import '../styles/console.css';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface BarSeries {
  label: string;
  data: number[]; // one value per label
}

export interface BarChartProps {
  labels: string[];
  series: BarSeries[];
  stacked?: boolean;
  horizontal?: boolean; // bars along the x axis, labels down the y axis
  format?: (value: number) => string; // axis ticks, tooltips and the table
  summary: string; // what the chart shows, in a sentence: the canvas's accessible name
  caption?: string; // the table's caption (default: the summary)
  table?: boolean; // show the numbers as a table under the chart (default true)
  height?: number; // px; default 300, or 36 px a bar for a horizontal chart
}

const paletteSize = 8;
const defaultFormat = (value: number) => value.toLocaleString();

// The colours of the current theme, from the CSS variables in effect at `element`.
export function chartColours(element: Element) {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const series: string[] = [];
  for (let i = 1; i <= paletteSize; i++) series.push(read(`--chart-${i}`, '#1b6b58'));
  return {
    series,
    text: read('--text', '#1f2328'),
    muted: read('--text-muted', '#565d66'),
    grid: read('--border', '#d6d9de'),
    surface: read('--bg-raised', '#ffffff'),
    background: read('--bg', '#ffffff'),
    font: read('--font', 'system-ui, sans-serif'),
  };
}

export function BarChart({
  labels,
  series,
  stacked = false,
  horizontal = false,
  format = defaultFormat,
  summary,
  caption,
  table = true,
  height,
}: BarChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  // The chart is drawn again when what it shows changes, not when a caller passes equal
  // arrays or a new formatter function of the same meaning.
  const dataKey = JSON.stringify([labels, series]);
  const latest = useRef({ labels, series, format });
  latest.current = { labels, series, format };
  // Both change what the CSS variables say: draw again when either does.
  const theme = useSyncExternalStore(subscribeTheme, currentTheme, currentTheme);
  const systemDark = useMediaQuery('(prefers-color-scheme: dark)');
  const reducedMotion = useMediaQuery('(prefers-reduced-motion: reduce)');
  const boxHeight = height ?? (horizontal ? Math.max(120, 48 + labels.length * 36) : 300);

  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const { labels, series, format } = latest.current;
    const colours = chartColours(element);
    const valueAxis = {
      stacked,
      beginAtZero: true,
      grid: { color: colours.grid },
      border: { color: colours.grid },
      ticks: { color: colours.muted, callback: (value: string | number) => format(Number(value)) },
    };
    const labelAxis = {
      stacked,
      grid: { display: false },
      border: { color: colours.grid },
      ticks: { color: colours.muted },
    };
    const config: ChartConfiguration<'bar', number[], string> = {
      type: 'bar',
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          backgroundColor: colours.series[i % paletteSize],
          // A thin line of the page's colour keeps stacked segments apart.
          borderColor: colours.background,
          borderWidth: stacked ? 1 : 0,
          maxBarThickness: 48,
        })),
      },
      options: {
        indexAxis: horizontal ? 'y' : 'x',
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion ? false : { duration: 300 },
        color: colours.text,
        font: { family: colours.font },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: {
            display: series.length > 1,
            position: 'bottom',
            labels: { color: colours.text, boxWidth: 14, boxHeight: 14 },
          },
          tooltip: {
            backgroundColor: colours.surface,
            titleColor: colours.text,
            bodyColor: colours.text,
            borderColor: colours.grid,
            borderWidth: 1,
            callbacks: {
              label: (item) => `${item.dataset.label ?? ''}: ${format(Number(item.raw))}`,
            },
          },
        },
      },
    };
    const chart = new Chart(element, config);
    return () => chart.destroy();
  }, [dataKey, stacked, horizontal, theme, systemDark, reducedMotion]);

  return (
    <figure className="bar-chart">
      <div className="bar-chart-box" style={{ height: `${boxHeight}px` }}>
        <canvas ref={canvas} role="img" aria-label={summary}>
          {summary}
        </canvas>
      </div>
      {table && (
        <details className="bar-chart-data">
          <summary>{t('chart.showData')}</summary>
          <div className="table-scroll">
            <table className="data-table">
              <caption>{caption ?? summary}</caption>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">{t('chart.labelColumn')}</span>
                  </th>
                  {series.map((s) => (
                    <th key={s.label} scope="col" className="numeric">
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {labels.map((label, row) => (
                  <tr key={label}>
                    <th scope="row">{label}</th>
                    {series.map((s) => (
                      <td key={s.label} className="numeric">
                        {format(s.data[row] ?? 0)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </figure>
  );
}
