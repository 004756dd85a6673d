import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Every path that belongs to chatd's API rather than to the web UI. The dev server passes
// these to a running chatd (CHATD_DEV_API, by default the address chatd listens on by
// default) so that the UI and the API share one origin, as they do in production.
const apiPaths = [
  'auth',
  'conversations',
  'models',
  'usage',
  'v1',
  'admin',
  'invitations',
  'api-keys',
  'shares',
  'shared',
  'healthz',
  'readyz',
  'metrics',
  'openapi.json',
  'docs',
  '.well-known',
];
const apiTarget = process.env['CHATD_DEV_API'] ?? 'http://127.0.0.1:8080';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const proxy = Object.fromEntries(
  apiPaths.map((p) => [`^/${escape(p)}(?:[/?]|$)`, { target: apiTarget, changeOrigin: false, ws: false }]),
);

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: [
      // rehype-katex turns KaTeX's HTML into a tree with hast-util-from-html-isomorphic, whose
      // browser build parses it through the DOM (a <template>'s innerHTML): the page's CSP
      // (style-src 'self') refuses every style attribute KaTeX writes there, and the page would
      // put text derived from a model's answer into innerHTML. Its other build parses with
      // parse5, outside the DOM; React then applies the styles through the CSSOM, which the
      // CSP allows.
      {
        find: /^hast-util-from-html-isomorphic$/,
        replacement: fileURLToPath(new URL('./node_modules/hast-util-from-html-isomorphic/index.js', import.meta.url)),
      },
    ],
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets', // hashed names: assets/[name]-[hash].[ext]
    // Nothing inlined as data: URLs (the page's CSP), no source maps in what chatd serves.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1200,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
  },
});
