// Small pure helpers of the console: dates as the API takes them, numbers, CSV files and
// user agents in words.
import { t } from '../../i18n';
import { downloadText } from '../../lib/download';

// ---- days (YYYY-MM-DD, UTC: the days /admin/usage groups by)

const dayMs = 86_400_000;

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`));
}

export function addDays(day: string, n: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * dayMs));
}

// Every day from `from` to `to`, both included (at most `limit` of them).
export function daysBetween(from: string, to: string, limit = 3660): string[] {
  const out: string[] = [];
  for (let day = from; day <= to && out.length < limit; day = addDays(day, 1)) out.push(day);
  return out;
}

// The last `n` days, today (UTC) included.
export function lastDays(n: number, now: Date = new Date()): { from: string; to: string } {
  const to = utcDay(now);
  return { from: addDays(to, -(n - 1)), to };
}

// ---- numbers and times

export const formatNumber = (value: number): string => value.toLocaleString();

export const formatUsd = (value: number): string =>
  value.toLocaleString(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return t('console.never');
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

// ---- CSV (RFC 4180)

export type CsvCell = string | number | boolean | null | undefined;

// A field as RFC 4180 wants it: quoted (quotes doubled) when it holds a comma, a quote or a
// line break. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets
// a leading apostrophe; numbers are left alone.
export function csvField(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: CsvCell[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

// Offers `csv` as a file download.
export function downloadCsv(filename: string, csv: string): void {
  downloadText(filename, csv, 'text/csv;charset=utf-8');
}

// The message of a refused change: the field errors' own words when chatd gave some.
export function capitalise(text: string): string {
  const s = text.trim();
  return s ? s[0]!.toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s;
}
