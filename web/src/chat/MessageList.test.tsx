import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { cap, initialCount, MessageList, nextRange } from './MessageList';

function messages(n: number): Message[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: i % 2 === 0 ? `question ${i}` : `answer **${i}**`,
    model: 'demo',
    status: 'complete',
    created_at: '2025-01-01T00:00:00Z',
    usage: null,
  }));
}

describe('MessageList', () => {
  it('puts only the newest messages of a long conversation in the DOM', () => {
    render(<MessageList messages={messages(2000)} followSignal={0} />);
    const articles = screen.getAllByRole('article');
    expect(articles).toHaveLength(initialCount);
    expect(articles[articles.length - 1]!.textContent).toBe('answer 1999');
    expect(screen.getAllByRole('article', { name: 'You' })).toHaveLength(initialCount / 2);
    expect(screen.getAllByRole('article', { name: 'Assistant' })).toHaveLength(initialCount / 2);
  });

  it('shows a short conversation whole', () => {
    render(<MessageList messages={messages(5)} followSignal={0} />);
    expect(screen.getAllByRole('article')).toHaveLength(5);
  });

  it('renders user text as text and answers as markdown', () => {
    const list: Message[] = [
      { ...messages(1)[0]!, content: '**not bold** <b>x</b>' },
      { ...messages(2)[1]!, content: '**bold**' },
    ];
    render(<MessageList messages={list} followSignal={0} />);
    const [mine, answer] = screen.getAllByRole('article');
    expect(mine!.querySelector('strong')).toBeNull();
    expect(mine!.textContent).toBe('**not bold** <b>x</b>');
    expect(answer!.querySelector('strong')?.textContent).toBe('bold');
  });
});

describe('nextRange', () => {
  it('opens on the last messages', () => {
    expect(nextRange({ start: 0, end: 0 }, 0, 2000, true)).toEqual({ start: 2000 - initialCount, end: 2000 });
  });

  it('follows new messages at the end while following, within the cap', () => {
    expect(nextRange({ start: 1976, end: 2000 }, 2000, 2002, true)).toEqual({ start: 1976, end: 2002 });
    expect(nextRange({ start: 1880, end: 2000 }, 2000, 2002, true)).toEqual({ start: 2002 - cap, end: 2002 });
  });

  it('keeps the window of a user who scrolled up', () => {
    expect(nextRange({ start: 100, end: 150 }, 2000, 2002, false)).toEqual({ start: 100, end: 150 });
  });

  it('keeps the window on the same messages when older ones come in front', () => {
    expect(nextRange({ start: 0, end: 50 }, 50, 150, false, 100)).toEqual({ start: 100, end: 150 });
    expect(nextRange({ start: 0, end: 20 }, 50, 150, false, 100)).toEqual({ start: 100, end: 120 });
  });

  it('starts again at the end when the list was replaced by another', () => {
    expect(nextRange({ start: 10, end: 30 }, 50, 60, true, -1)).toEqual({ start: 60 - initialCount, end: 60 });
  });

  it('starts again at the end when the list was replaced by a shorter one', () => {
    expect(nextRange({ start: 1976, end: 2000 }, 2000, 10, true)).toEqual({ start: 0, end: 10 });
  });
});
