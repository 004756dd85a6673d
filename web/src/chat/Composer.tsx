import { useId, useLayoutEffect, useRef, type KeyboardEvent, type Ref } from 'react';
import { IconArrowUp, IconStop } from '../components/Icons';
import { t } from '../i18n';

interface ComposerProps {
  value: string;
  onChange: (value: string) => void;
  onSend: (text: string) => void;
  onStop: () => void;
  streaming: boolean;
  disabled?: boolean;
  textareaRef?: Ref<HTMLTextAreaElement>;
  autoFocus?: boolean;
}

const maxHeightRatio = 0.4; // of the window's height, then the text scrolls

// The message box: grows with its text; Enter sends, Shift+Enter starts a new line,
// Escape stops the answer being written. While an answer streams, Stop replaces Send.
export function Composer({ value, onChange, onSend, onStop, streaming, disabled, textareaRef, autoFocus }: ComposerProps) {
  const id = useId();
  const own = useRef<HTMLTextAreaElement | null>(null);

  const setRefs = (el: HTMLTextAreaElement | null) => {
    own.current = el;
    if (typeof textareaRef === 'function') textareaRef(el);
    else if (textareaRef) (textareaRef as { current: HTMLTextAreaElement | null }).current = el;
  };

  // Height follows the content (set through the CSSOM, which the page's CSP allows).
  useLayoutEffect(() => {
    const el = own.current;
    if (!el) return;
    el.style.height = 'auto';
    const max = Math.max(120, window.innerHeight * maxHeightRatio);
    el.style.height = `${Math.min(el.scrollHeight, max)}px`;
    el.style.overflowY = el.scrollHeight > max ? 'auto' : 'hidden';
  }, [value]);

  const canSend = !streaming && !disabled && value.trim().length > 0;

  function send() {
    if (canSend) onSend(value);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter while an input method composes a character belongs to the input method.
    if (e.nativeEvent.isComposing || e.keyCode === 229) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && streaming) {
      e.preventDefault();
      onStop();
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        {t('field.message')}
      </label>
      <textarea
        id={id}
        ref={setRefs}
        className="composer-input"
        rows={1}
        value={value}
        placeholder={t('chat.composerHint')}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        disabled={disabled}
        autoFocus={autoFocus}
      />
      {streaming ? (
        <button type="button" className="composer-button composer-stop" onClick={onStop}>
          <IconStop />
          <span className="visually-hidden">{t('chat.stop')}</span>
        </button>
      ) : (
        <button type="submit" className="composer-button composer-send" disabled={!canSend}>
          <IconArrowUp />
          <span className="visually-hidden">{t('chat.send')}</span>
        </button>
      )}
    </form>
  );
}
