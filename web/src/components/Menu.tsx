import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

export type MenuEntry =
  | { kind?: 'item'; label: string; onSelect: () => void; danger?: boolean }
  | { kind: 'radio'; label: string; checked: boolean; onSelect: () => void }
  | { kind: 'group'; label: string; entries: MenuEntry[] }
  | { kind: 'separator' };

interface MenuProps {
  label: string; // the button's accessible name
  buttonContent: ReactNode;
  buttonClassName?: string;
  entries: MenuEntry[];
  placement?: 'below' | 'above';
  align?: 'start' | 'end';
}

// A menu button (WAI-ARIA menu pattern): arrows move between items, Escape closes and
// gives focus back to the button, Tab or a click elsewhere closes.
export function Menu({ label, buttonContent, buttonClassName, entries, placement = 'below', align = 'end' }: MenuProps) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  const items = () => Array.from(menu.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? []);

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const onPointer = (e: MouseEvent) => {
      const target = e.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('mousedown', onPointer);
    return () => document.removeEventListener('mousedown', onPointer);
  }, [open]);

  function close(focusButton: boolean) {
    setOpen(false);
    if (focusButton) button.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent) {
    const list = items();
    const index = list.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      list[(index + 1) % list.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      list[(index - 1 + list.length) % list.length]?.focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      list[0]?.focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      list[list.length - 1]?.focus();
    } else if (e.key === 'Tab') {
      setOpen(false);
    }
  }

  function select(action: () => void) {
    close(true);
    action();
  }

  function render(entry: MenuEntry, key: number): ReactNode {
    if (entry.kind === 'separator') return <div key={key} role="separator" className="menu-separator" />;
    if (entry.kind === 'group') {
      return (
        <div key={key} role="group" aria-label={entry.label} className="menu-group">
          <div className="menu-group-label" aria-hidden="true">
            {entry.label}
          </div>
          {entry.entries.map((e, i) => render(e, i))}
        </div>
      );
    }
    if (entry.kind === 'radio') {
      return (
        <button
          key={key}
          type="button"
          role="menuitemradio"
          aria-checked={entry.checked}
          tabIndex={-1}
          className="menu-item"
          onClick={() => select(entry.onSelect)}
        >
          <span className="menu-check" aria-hidden="true">
            {entry.checked ? '✓' : ''}
          </span>
          {entry.label}
        </button>
      );
    }
    return (
      <button
        key={key}
        type="button"
        role="menuitem"
        tabIndex={-1}
        className={`menu-item${entry.danger ? ' menu-item-danger' : ''}`}
        onClick={() => select(entry.onSelect)}
      >
        {entry.label}
      </button>
    );
  }

  return (
    <div className="menu-anchor">
      <button
        ref={button}
        type="button"
        className={buttonClassName}
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {buttonContent}
      </button>
      {open && (
        <div
          ref={menu}
          id={id}
          role="menu"
          aria-label={label}
          className={`menu menu-${placement} menu-${align}`}
          onKeyDown={onKeyDown}
        >
          {entries.map((e, i) => render(e, i))}
        </div>
      )}
    </div>
  );
}
