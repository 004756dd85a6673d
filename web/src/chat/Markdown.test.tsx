import { render } from '@testing-library/react';
import type { Root } from 'hast';
import rehypeSanitize from 'rehype-sanitize';
import { describe, expect, it } from 'vitest';
import { Markdown, rehypePlugins, safeUrl, sanitizeSchema } from './Markdown';

function html(text: string): HTMLElement {
  const { container } = render(<Markdown text={text} />);
  return container;
}

// Nothing in the rendered answer can run script or fetch from elsewhere.
function expectInert(root: HTMLElement): void {
  expect(root.querySelector('script, iframe, object, embed, form, style, link, meta, base, svg script')).toBeNull();
  expect(root.querySelector('img, video, audio, source, picture')).toBeNull();
  for (const el of Array.from(root.querySelectorAll('*'))) {
    for (const attr of Array.from(el.attributes)) {
      expect(attr.name.startsWith('on'), `${el.tagName} ${attr.name}`).toBe(false);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'srcset'].includes(attr.name)) {
        expect(attr.value, `${el.tagName} ${attr.name}`).toMatch(/^(https?:|mailto:|#)/);
      }
    }
  }
}

describe('Markdown', () => {
  it('shows a script tag as text and runs nothing', () => {
    const root = html('Hello <script>window.pwned = 1</script> there');
    expectInert(root);
    expect(root.textContent).toContain('<script>window.pwned = 1</script>');
    expect((window as unknown as { pwned?: number }).pwned).toBeUndefined();
  });

  it('leaves no event handler from raw HTML', () => {
    for (const payload of [
      '<img src=x onerror="window.pwned=1">',
      '<a href="https://example.com" onclick="alert(1)">x</a>',
      '<div onmouseover="alert(1)">hover</div>',
      '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">y</a></svg>',
      '<svg onload=alert(1)>',
      '<iframe src="javascript:alert(1)"></iframe>',
      '<style>body{display:none}</style>',
      '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
      '<form action="javascript:alert(1)"><button>go</button></form>',
    ]) {
      const root = html(`before\n\n${payload}\n\nafter`);
      expectInert(root);
      expect(root.textContent).toContain('after');
    }
  });

  it('removes javascript:, data: and other dangerous link targets', () => {
    for (const link of [
      '[x](javascript:alert(1))',
      '[x](JaVaScRiPt:alert(1))',
      '[x](  javascript:alert(1))',
      '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
      '[x](vbscript:msgbox)',
      '[x](file:///etc/passwd)',
      '<javascript:alert(1)>',
      '[x][r]\n\n[r]: javascript:alert(1)',
    ]) {
      const root = html(link);
      expectInert(root);
      expect(root.querySelector('a[href]'), link).toBeNull();
    }
  });

  it('opens http links in a new tab without opener, referrer or follow', () => {
    const root = html('See [the docs](https://example.com/docs) and https://example.org.');
    const links = Array.from(root.querySelectorAll('a'));
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com/docs', 'https://example.org/']);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer nofollow');
    }
  });

  it('never loads an image: other origins and data: URLs become links or text', () => {
    const root = html('![a cat](https://evil.example/cat.png) ![pixel](data:image/png;base64,AAAA) ![svg](data:image/svg+xml,<svg onload=alert(1)>)');
    expectInert(root);
    const link = root.querySelector('a');
    expect(link?.getAttribute('href')).toBe('https://evil.example/cat.png');
    expect(link?.textContent).toBe('Image: a cat');
    expect(root.textContent).toContain('Image: pixel');
  });

  it('renders GFM tables', () => {
    const root = html('| a | b |\n|---|---|\n| 1 | 2 |');
    expect(root.querySelector('table')).not.toBeNull();
    expect(Array.from(root.querySelectorAll('th')).map((th) => th.textContent)).toEqual(['a', 'b']);
    expect(Array.from(root.querySelectorAll('td')).map((td) => td.textContent)).toEqual(['1', '2']);
  });

  it('highlights code blocks and gives them a Copy button', () => {
    const root = html('```js\nconst x = "y";\n```');
    const code = root.querySelector('pre code');
    expect(code?.className).toContain('language-js');
    expect(code?.querySelector('.hljs-keyword')?.textContent).toBe('const');
    expect(code?.querySelector('.hljs-string')?.textContent).toBe('"y"');
    expect(root.querySelector('button')?.textContent).toBe('Copy code');
    expect(root.querySelector('.code-language')?.textContent).toBe('js');
  });

  it('keeps code of an unknown language as plain text', () => {
    const root = html('```nosuchlanguage\n<b>x</b>\n```');
    expect(root.querySelector('pre code')?.textContent).toBe('<b>x</b>\n');
    expect(root.querySelector('b')).toBeNull();
  });

  it('typesets inline and display math with KaTeX', () => {
    const root = html('Inline $E = mc^2$ and\n\n$$\n\\int_0^1 x\\,dx\n$$');
    expect(root.querySelectorAll('.katex').length).toBe(2);
    expect(root.querySelector('.katex-display')).not.toBeNull();
    expect(root.querySelector('.katex-mathml annotation')?.textContent).toBe('E = mc^2');
  });

  it('does not let math run script or link anywhere', () => {
    const root = html('$\\href{javascript:alert(1)}{x}$ $\\url{javascript:alert(1)}$ $\\htmlClass{x}{y}$');
    expectInert(root);
    expect(root.querySelector('a')).toBeNull();
  });
});

describe('safeUrl', () => {
  it('keeps http(s), mailto and fragments only', () => {
    expect(safeUrl('https://example.com/a?b#c')).toBe('https://example.com/a?b#c');
    expect(safeUrl('mailto:ann@example.com')).toBe('mailto:ann@example.com');
    expect(safeUrl('#user-content-fn-1')).toBe('#user-content-fn-1');
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl('java\tscript:alert(1)')).toBeNull();
    expect(safeUrl('data:text/html,x')).toBeNull();
    expect(safeUrl('/relative')).toBeNull();
    expect(safeUrl('//evil.example/x')).toBeNull();
  });
});

describe('the rehype chain', () => {
  it('sanitizes first, before anything adds markup', () => {
    const first = rehypePlugins[0] as unknown as [unknown, unknown];
    expect(first[0]).toBe(rehypeSanitize);
    expect(first[1]).toBe(sanitizeSchema);
  });

  it('strips scripts, handlers, styles and unsafe URLs from a tree', () => {
    const tree: Root = {
      type: 'root',
      children: [
        { type: 'element', tagName: 'script', properties: {}, children: [{ type: 'text', value: 'alert(1)' }] },
        { type: 'element', tagName: 'a', properties: { href: 'javascript:alert(1)', onClick: 'alert(1)', style: 'x' }, children: [{ type: 'text', value: 'a' }] },
        { type: 'element', tagName: 'a', properties: { href: 'data:text/html,x' }, children: [] },
        { type: 'element', tagName: 'a', properties: { href: 'https://ok.example/' }, children: [] },
        { type: 'element', tagName: 'img', properties: { src: 'data:image/png;base64,AA', onError: 'x' }, children: [] },
        { type: 'element', tagName: 'iframe', properties: { src: 'https://evil.example/' }, children: [] },
        { type: 'element', tagName: 'code', properties: { className: ['language-js', 'math-inline', 'evil'] }, children: [] },
      ],
    };
    const clean = (rehypeSanitize(sanitizeSchema) as unknown as (t: Root) => Root)(tree);
    const out = JSON.stringify(clean);
    expect(out).not.toMatch(/script|javascript|onClick|onError|style|data:|iframe|evil/i);
    expect(out).toContain('https://ok.example/');
    expect(out).toContain('language-js');
    expect(out).toContain('math-inline');
  });
});
