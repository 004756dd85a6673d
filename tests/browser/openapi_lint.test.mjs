// The OpenAPI document (`chatd openapi`, the same as GET /openapi.json) passes Redocly's lint
// with the rules of redocly.yaml: no error and no warning. Runs offline (no telemetry, no
// update check); needs no browser.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function chatdDocument() {
  return JSON.parse(execFileSync(process.env.CHATD_BIN, ['openapi'], { encoding: 'utf8' }));
}

// Lints `doc`; returns the exit status and Redocly's JSON report.
function lint(doc) {
  const dir = mkdtempSync(join(tmpdir(), 'chatd-openapi-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = join(here, 'node_modules/@redocly/cli/bin/cli.js');
    const result = spawnSync(
      process.execPath,
      [cli, 'lint', '--config', join(here, 'redocly.yaml'), '--format', 'json', file],
      {
        encoding: 'utf8',
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
        timeout: 120_000,
      },
    );
    return { status: result.status, stderr: result.stderr, report: JSON.parse(result.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the OpenAPI document passes redocly lint with no error or warning', () => {
  const doc = chatdDocument();
  assert.equal(doc.openapi, '3.1.0');
  const { status, stderr, report } = lint(doc);
  const found = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`);
  assert.deepEqual(found, [], 'redocly lint found problems');
  assert.equal(report.totals.errors, 0);
  assert.equal(report.totals.warnings, 0);
  assert.equal(status, 0, stderr);
});

test('a document with a broken reference fails the same lint', () => {
  // The lint is not a formality: a dangling $ref, as a renamed schema would leave, is an error.
  const doc = chatdDocument();
  doc.paths['/auth/me'].get.responses['200'].content['application/json'].schema = {
    $ref: '#/components/schemas/NoSuchSchema',
  };
  const { status, report } = lint(doc);
  assert.notEqual(status, 0);
  assert.ok(report.totals.errors >= 1);
});
