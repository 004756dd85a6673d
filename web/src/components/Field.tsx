import { useId, type ComponentPropsWithRef, type ReactNode } from 'react';
import { t } from '../i18n';

interface FieldProps extends Omit<ComponentPropsWithRef<'input'>, 'id'> {
  label: string;
  error?: string | undefined;
  help?: ReactNode;
  optional?: boolean;
}

// A labelled input with its help text and its error beside it. The label element holds
// the label's words only: they are the field's accessible name.
export function Field({ label, error, help, optional, className, ...input }: FieldProps) {
  const id = useId();
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [help ? helpId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <div className="field-head">
        <label htmlFor={id}>{label}</label>
        {optional && <span className="field-optional">{t('field.optional')}</span>}
      </div>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {help && (
        <div id={helpId} className="field-help">
          {help}
        </div>
      )}
      {error && (
        <div id={errorId} className="field-error">
          {error}
        </div>
      )}
    </div>
  );
}
