// Messages whose echo is an answer with the markdown a model writes: emphasis, lists, a
// table, a fenced code block, math (the fake upstream answers "echo: " + the message).
const markdown = [
  'Here is a **short** answer with `inline code`, a list and a table:',
  '',
  '- first item',
  '- second item, with *emphasis*',
  '',
  '| model | tokens |',
  '|---|---|',
  '| gpt-test | 42 |',
  '',
  '```python',
  'def greet(name):',
  '    return f"Hello, {name}!"',
  '```',
];

const math = [
  '',
  "Euler's identity: $e^{i\\pi} + 1 = 0$, and a displayed formula:",
  '',
  '$$',
  '\\int_0^1 x^2\\,dx = \\frac{1}{3}',
  '$$',
];

export const richMessage = [...markdown, ...math].join('\n');
export const richMessageNoMath = markdown.join('\n');
