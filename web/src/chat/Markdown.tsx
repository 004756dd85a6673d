// Markdown of model answers: untrusted text. The pipeline, in order:
//   remark: gfm (tables, task lists...), math, raw HTML turned into plain text
//   rehype: sanitize (first: before anything adds markup), KaTeX (rehype-katex; the build
//           gives it the HTML parser that does not go through the DOM, see vite.config.ts),
//           highlight (highlight.js through lowlight, the engine of rehype-highlight, with one
//           shared instance)
// and on output links open in a new tab without referrer or opener, only http(s) and
// mailto URLs survive, and images are never loaded (a link to them instead): an answer
// must not make the browser ask another origin for anything.
import 'katex/dist/katex.min.css';
import type { Element, ElementContent, Root as HastRoot } from 'hast';
import { createLowlight } from 'lowlight';
import bash from 'highlight.js/lib/languages/bash';
import cLang from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import kotlin from 'highlight.js/lib/languages/kotlin';
import makefile from 'highlight.js/lib/languages/makefile';
import markdown from 'highlight.js/lib/languages/markdown';
import php from 'highlight.js/lib/languages/php';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import ruby from 'highlight.js/lib/languages/ruby';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import swift from 'highlight.js/lib/languages/swift';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import type { Root as MdastRoot, RootContent as MdastContent } from 'mdast';
import { memo, useState, type ComponentPropsWithoutRef, type ReactElement, type ReactNode } from 'react';
import rehypeKatex from 'rehype-katex';
import ReactMarkdown, { type Components, type Options } from 'react-markdown';
import rehypeSanitize, { defaultSchema, type Options as SanitizeSchema } from 'rehype-sanitize';
import remarkGfm from 'remark-gfm';
import remarkMath from 'remark-math';
import { t } from '../i18n';
import '../styles/markdown.css';

// Raw HTML in an answer is shown as the text it is, never interpreted.
function remarkHtmlAsText() {
  const visit = (node: MdastRoot | MdastContent): void => {
    if (!('children' in node)) return;
    node.children = node.children.map((child) =>
      child.type === 'html' ? ({ type: 'text', value: child.value } as MdastContent) : child,
    ) as typeof node.children;
    for (const child of node.children) visit(child);
  };
  return (tree: MdastRoot) => visit(tree);
}

// highlight.js with the languages answers use most (lowlight's `common` set less ten rare
// ones, to keep the chat page within its budget), made once: rehype-highlight would make a
// new one, registering and compiling every language again, for each message.
const lowlight = createLowlight({
  bash, c: cLang, cpp, csharp, css, diff, go, ini, java, javascript, json, kotlin, makefile, markdown, php, plaintext, python, ruby, rust, shell, sql, swift, typescript, xml, yaml,
});

function rehypeHighlightShared() {
  const visit = (node: HastRoot | Element): void => {
    for (const child of node.children) {
      if (child.type !== 'element') continue;
      const code = child.tagName === 'pre' ? child.children.find((c): c is Element => c.type === 'element' && c.tagName === 'code') : undefined;
      if (code) highlight(code);
      else visit(child);
    }
  };
  return (tree: HastRoot) => visit(tree);
}

function highlight(code: Element): void {
  const classes = Array.isArray(code.properties['className']) ? code.properties['className'].map(String) : [];
  const language = classes.find((c) => c.startsWith('language-'))?.slice('language-'.length);
  if (!language || !lowlight.registered(language)) return;
  try {
    const result = lowlight.highlight(language, textOf(code));
    code.children = result.children as ElementContent[];
    code.properties['className'] = [...classes, 'hljs'];
  } catch {
    // A grammar that gives up on odd input: the code stays plain text.
  }
}

const safeProtocols = ['http', 'https', 'mailto'];

export const sanitizeSchema: SanitizeSchema = {
  ...defaultSchema,
  protocols: { ...defaultSchema.protocols, href: safeProtocols, src: ['http', 'https'], cite: ['http', 'https'] },
  attributes: {
    ...defaultSchema.attributes,
    // remark-math marks math with these classes; rehype-katex, after sanitize, reads them.
    code: [['className', /^language-./, 'math-inline', 'math-display']],
  },
};

// What survives as a URL: absolute http(s) and mailto, and in-page fragments (footnotes).
export function safeUrl(url: string): string | null {
  const value = url.trim();
  if (value.startsWith('#')) return value;
  try {
    const parsed = new URL(value);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:' || parsed.protocol === 'mailto:') return parsed.href;
  } catch {
    // Relative or malformed: nothing to link to from an answer.
  }
  return null;
}

function textOf(node: Element | ElementContent | undefined): string {
  if (!node) return '';
  if (node.type === 'text') return node.value;
  if ('children' in node) return node.children.map((c) => textOf(c)).join('');
  return '';
}

function CodeBlock({ node, children, ...rest }: ComponentPropsWithoutRef<'pre'> & { node?: Element | undefined }) {
  const [copied, setCopied] = useState(false);
  const code = node?.children.find((c): c is Element => c.type === 'element' && c.tagName === 'code');
  const classes = code?.properties?.['className'];
  const language = Array.isArray(classes)
    ? classes.map(String).find((c) => c.startsWith('language-'))?.slice('language-'.length)
    : undefined;
  const copy = () => {
    const text = textOf(code ?? node);
    void navigator.clipboard?.writeText(text).then(
      () => {
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      },
      () => undefined,
    );
  };
  return (
    <div className="code-block">
      <div className="code-head">
        <span className="code-language">{language ?? ''}</span>
        <button type="button" className="code-copy" onClick={copy}>
          {copied ? t('chat.copied') : t('chat.copyCode')}
        </button>
      </div>
      <pre {...rest}>{children}</pre>
    </div>
  );
}

const components: Components = {
  a({ href, children, node: _node, ...rest }) {
    const url = href ? safeUrl(href) : null;
    if (!url) return <span className="md-link-removed">{children}</span>;
    if (url.startsWith('#')) {
      return (
        <a {...rest} href={url}>
          {children}
        </a>
      );
    }
    return (
      <a {...rest} href={url} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    );
  },
  img({ src, alt }) {
    const url = typeof src === 'string' ? safeUrl(src) : null;
    const label: ReactNode = alt ? t('chat.image', { alt }) : t('chat.imageNoAlt');
    if (!url || url.startsWith('#')) return <span className="md-image">{label}</span>;
    return (
      <a className="md-image" href={url} target="_blank" rel="noopener noreferrer nofollow">
        {label}
      </a>
    );
  },
  pre: CodeBlock,
  table({ node: _node, ...rest }) {
    return (
      <div className="table-scroll">
        <table {...rest} />
      </div>
    );
  },
};

type PluggableList = NonNullable<Options['rehypePlugins']>;

const remarkPlugins: PluggableList = [remarkGfm, remarkMath, remarkHtmlAsText];
export const rehypePlugins: PluggableList = [
  [rehypeSanitize, sanitizeSchema],
  [rehypeKatex, { strict: 'ignore', trust: false, maxExpand: 1000, maxSize: 50 }],
  rehypeHighlightShared,
];

function urlTransform(url: string): string | null {
  return safeUrl(url);
}

// Parsed answers, by text: a message scrolled out of the window and back, or a
// conversation opened again, is not parsed twice. Only finished answers are kept (a
// streaming one changes with every delta).
const cacheSize = 400;
const cache = new Map<string, ReactElement>();

function render(text: string): ReactElement {
  return (
    <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components} urlTransform={urlTransform}>
      {text}
    </ReactMarkdown>
  );
}

// ReactMarkdown renders synchronously from its props: calling it as a function gives the
// finished element tree, which can be kept and mounted again.
function parsed(text: string, keep: boolean): ReactElement {
  if (!keep) return render(text);
  const hit = cache.get(text);
  if (hit) {
    cache.delete(text); // most recently used last
    cache.set(text, hit);
    return hit;
  }
  const tree = ReactMarkdown({
    remarkPlugins,
    rehypePlugins,
    components,
    urlTransform,
    children: text,
  }) as ReactElement;
  cache.set(text, tree);
  if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
  return tree;
}

export const Markdown = memo(function Markdown({ text, final = true }: { text: string; final?: boolean }) {
  return <div className="markdown">{parsed(text, final)}</div>;
});
