import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.js';
import { clearSecrets, redact, redactDeep } from '../../src/config/secrets.js';
import { ConfigError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/staging.js';

afterEach(() => clearSecrets());

describe('config validation', () => {
  it('reports every problem at once as path: message', () => {
    const r = validateConfig({ staging: { url: 42 }, connections: { x: { type: 'nosuch' }, hs: { type: 'hubspot' } } }, {});
    expect(r.config).toBeUndefined();
    expect(r.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^staging\.url: expected a string/),
      expect.stringMatching(/^connections\.x\.type: unknown connection type "nosuch" \(one of csv, crossbeam/),
      expect.stringMatching(/^connections\.hs\.accessToken: /),
    ]));
  });

  it('rejects a staging URL of an unsupported kind', () => {
    const r = validateConfig({ staging: { url: 'mysql://x' } }, {});
    expect(r.problems).toEqual([expect.stringMatching(/^staging\.url: use sqlite:<file>/)]);
  });

  it('interpolates ${VAR}, ${VAR:-default} and keeps $${ literal', () => {
    const r = validateConfig({
      staging: { url: '${STAGING:-sqlite:x.db}' },
      connections: {
        hs: { type: 'hubspot', accessToken: '${HS_TOKEN}', baseUrl: 'http://127.0.0.1:${PORT}' },
        files: { type: 'csv', streams: { prices: { file: 'costs $${AMOUNT}.csv' } } },
      },
    }, { HS_TOKEN: 'pat-na1-abcdef', PORT: '4010' });
    expect(r.problems).toEqual([]);
    expect(r.config!.staging.url).toBe('sqlite:x.db');
    expect(r.config!.connections.hs).toMatchObject({ type: 'hubspot', accessToken: 'pat-na1-abcdef', baseUrl: 'http://127.0.0.1:4010' });
    expect(r.config!.connections.files).toMatchObject({ streams: { prices: { file: 'costs ${AMOUNT}.csv' } } });
  });

  it('reads a number or boolean from the environment where the schema wants one; a numeric password stays text', () => {
    const r = validateConfig({
      staging: { url: 'sqlite:x.db', lockStaleAfterSeconds: '${STALE}' },
      connections: {
        xb: { type: 'crossbeam', organization: '${ORG}', pageSize: '${PAGE}', timeoutMs: '${TIMEOUT:-5000}' },
        sf: { type: 'salesforce', password: '${SF_PW}' },
      },
    }, { ORG: '1234', PAGE: '500', STALE: '60', SF_PW: '987654' });
    expect(r.problems).toEqual([]);
    expect(r.config!.staging.lockStaleAfterSeconds).toBe(60);
    expect(r.config!.connections.xb).toMatchObject({ organization: '1234', pageSize: 500, timeoutMs: 5000 });
    expect(r.config!.connections.sf).toMatchObject({ password: '987654' });
    const bad = validateConfig({ connections: { xb: { type: 'crossbeam', organization: 'o', pageSize: '${PAGE}' } } }, { PAGE: 'lots' });
    expect(bad.problems).toEqual([expect.stringMatching(/^connections\.xb\.pageSize: /)]);
  });

  it('names a missing environment variable once', () => {
    const r = validateConfig({ connections: { hs: { type: 'hubspot', accessToken: '${HS_TOKEN}' } } }, {});
    expect(r.problems).toEqual(['connections.hs.accessToken: environment variable HS_TOKEN is not set']);
  });

  it('checks references between sections', () => {
    const r = validateConfig({
      connections: { out: { type: 'file', dir: 'out' } },
      targets: { t1: { connection: 'nowhere' } },
      pipelines: { default: { extract: [{ connection: 'missing' }], push: ['t2'] } },
    }, {});
    expect(r.problems).toEqual(expect.arrayContaining([
      'targets.t1.connection: no connection named "nowhere"',
      'pipelines.default.extract[0].connection: no connection named "missing"',
      'pipelines.default.push[0]: no target named "t2"',
    ]));
  });

  it('warns about secrets written into the file, and redacts secret values everywhere', () => {
    const r = validateConfig({ connections: { hs: { type: 'hubspot', accessToken: 'literal-token-123' } } }, {});
    expect(r.warnings).toEqual([expect.stringMatching(/^connections\.hs\.accessToken: write secrets as \$\{ENV_VAR\}/)]);
    expect(redact('calling with literal-token-123 now')).toBe('calling with [redacted] now');
    expect(redactDeep({ nested: { msg: 'x literal-token-123 y' } })).toEqual({ nested: { msg: 'x [redacted] y' } });
  });

  it('redacts passwords inside connection URLs it was never told about', () => {
    expect(redact('connect postgres://app:hunter22@db:5432/x failed')).toBe('connect postgres://app:[redacted]@db:5432/x failed');
  });
});

describe('loading partnersync.yaml', () => {
  it('reads .env next to the file; the real environment wins', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), 'connections:\n  hs:\n    type: hubspot\n    accessToken: ${HS_TOKEN}\n    baseUrl: ${HS_URL}\n');
    fs.writeFileSync(path.join(dir, '.env'), 'HS_TOKEN=from-dotenv-file\nHS_URL=http://127.0.0.1:1\n');
    const r = loadConfig({ cwd: dir, env: { HS_URL: 'http://127.0.0.1:2' } });
    expect(r.config.connections.hs).toMatchObject({ accessToken: 'from-dotenv-file', baseUrl: 'http://127.0.0.1:2' });
    expect(r.baseDir).toBe(dir);
  });

  it('points at the line of a YAML syntax error', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), 'staging:\n  url: "unterminated\n');
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(ConfigError);
    try {
      loadConfig({ cwd: dir, env: {} });
    } catch (e) {
      expect((e as ConfigError).problems[0]).toMatch(/^partnersync\.yaml:\d+:\d+: /);
    }
  });

  it('uses PARTNERSYNC_CONFIG and says when the file is missing', () => {
    const dir = tempDir();
    expect(() => loadConfig({ cwd: dir, env: { PARTNERSYNC_CONFIG: 'nope.yaml' } })).toThrow(/nope\.yaml: file not found/);
    const r = loadConfig({ cwd: dir, env: {}, optional: true });
    expect(r.file).toBeUndefined();
    expect(r.config.staging.url).toBe('sqlite:.partnersync/staging.db');
  });
});

describe('the CLI on a bad config', () => {
  it('exits 2 and names both paths', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), 'staging:\n  url: 42\nconnections:\n  x:\n    type: nosuch\n');
    const r = await runCli(['status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('staging.url: expected a string');
    expect(r.stderr).toContain('connections.x.type: unknown connection type "nosuch"');
    expect(fs.existsSync(path.join(dir, '.partnersync'))).toBe(false);
  });

  it('never prints a secret from the config, even in --json errors', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'partnersync.yaml'), 'staging:\n  url: postgres://app:${PGPW}@127.0.0.1:1/none\n');
    const r = await runCli(['status', '--json'], { cwd: dir, env: { PGPW: 'sup3r-s3cret-pw' } });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('sup3r-s3cret-pw');
    expect(JSON.parse(r.stdout).error.code).toBe('STAGING_UNAVAILABLE');
  });
});
