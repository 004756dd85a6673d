import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { Composer } from './Composer';

function Harness({ streaming = false, onSend = vi.fn(), onStop = vi.fn() }: { streaming?: boolean; onSend?: (t: string) => void; onStop?: () => void }) {
  const [value, setValue] = useState('');
  return <Composer value={value} onChange={setValue} onSend={onSend} onStop={onStop} streaming={streaming} />;
}

describe('Composer', () => {
  it('sends on Enter', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'Hello there{Enter}');
    expect(onSend).toHaveBeenCalledTimes(1);
    expect(onSend).toHaveBeenCalledWith('Hello there');
  });

  it('starts a new line on Shift+Enter instead of sending', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'one{Shift>}{Enter}{/Shift}two');
    expect(onSend).not.toHaveBeenCalled();
    expect(box).toHaveProperty('value', 'one\ntwo');
    await userEvent.type(box, '{Enter}');
    expect(onSend).toHaveBeenCalledWith('one\ntwo');
  });

  it('sends nothing when empty or blank', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, '{Enter}   {Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole('button', { name: 'Send' })).toHaveProperty('disabled', true);
  });

  it('sends with the Send button', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'Hi');
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(onSend).toHaveBeenCalledWith('Hi');
  });

  it('leaves Enter to an input method that is composing', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'nihao');
    box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true, isComposing: true }));
    expect(onSend).not.toHaveBeenCalled();
  });

  it('shows Stop instead of Send while an answer streams; Escape and Stop stop it, Enter does not send', async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(<Harness streaming onSend={onSend} onStop={onStop} />);
    expect(screen.queryByRole('button', { name: 'Send' })).toBeNull();
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'next question{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    await userEvent.keyboard('{Escape}');
    expect(onStop).toHaveBeenCalledTimes(1);
    await userEvent.click(screen.getByRole('button', { name: 'Stop' }));
    expect(onStop).toHaveBeenCalledTimes(2);
  });

  it('does nothing on Escape when no answer streams', async () => {
    const onStop = vi.fn();
    render(<Harness onStop={onStop} />);
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'x{Escape}');
    expect(onStop).not.toHaveBeenCalled();
  });
});
