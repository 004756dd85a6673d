import type { ReactNode } from 'react';

export interface TotalsColumn<T> {
  label: string;
  value: (row: T) => string;
}

// A table of numbers by name (a model, a user): one row a name, then one cell a column, and
// a total row when `total` is given. Each number's cell carries its column's label
// (`data-label`), which a narrow layout can show beside it.
export function TotalsTable<T>({
  caption,
  nameHeader,
  columns,
  rows,
  total,
  className,
}: {
  caption: string;
  nameHeader: string;
  columns: TotalsColumn<T>[];
  rows: { key: string; name: ReactNode; value: T }[];
  total?: { name: string; value: T } | null;
  className: string; // data-table and a modifier
}) {
  const cells = (row: T) =>
    columns.map((c) => (
      <td key={c.label} className="numeric" data-label={c.label}>
        {c.value(row)}
      </td>
    ));
  return (
    <div className="table-scroll">
      <table className={className}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{nameHeader}</th>
            {columns.map((c) => (
              <th key={c.label} scope="col" className="numeric">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <th scope="row">{r.name}</th>
              {cells(r.value)}
            </tr>
          ))}
        </tbody>
        {total && (
          <tfoot>
            <tr>
              <th scope="row">{total.name}</th>
              {cells(total.value)}
            </tr>
          </tfoot>
        )}
      </table>
    </div>
  );
}
