import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import type { CommandContext } from '../../src/commands/context.js';
import { createOutput } from '../../src/ui/output.js';

/** The `partners` and `deals` command groups as the CLI parses them (flags → handler options). */
let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function run(argv: string[]): Promise<string> {
  const o = new PassThrough();
  const e = new PassThrough();
  let out = '';
  o.on('data', (c) => (out += c));
  e.resume();
  const ctx: CommandContext = { out: await createOutput({ json: true, stdout: o, stderr: e, env: {} }), cwd: dir!, env: { PARTNERSYNC_USER: 'cli-test' }, globals: { json: true }, signal: new AbortController().signal };
  await buildProgram({ version: '0.0.0', makeContext: async () => ctx }).parseAsync(['node', 'partnersync', ...argv]);
  return out;
}

describe('partners / deals commands', () => {
  it('adds a partner with scopes and expiry, rotates with a grace period, revokes, and reviews an empty queue', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deals-cli-'));
    const added = JSON.parse(await run(['partners', 'add', 'northwind', '--name', 'Northwind', '--scopes', 'deals:read', '--expires-days', '7']));
    expect(added.credentials.map((c: { kind: string; scopes: string }) => [c.kind, c.scopes])).toEqual([
      ['api_key', 'deals:read'],
      ['oauth_client', 'deals:read'],
    ]);
    const days = (Date.parse(added.credentials[0].expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    const rotated = JSON.parse(await run(['partners', 'rotate-key', 'northwind', '--grace-hours', '2']));
    expect(rotated).toMatchObject({ partner: 'northwind', retired: [added.credentials[0].key_id], graceHours: 2, issued: { kind: 'api_key', scopes: 'deals:read' } });
    const revoked = JSON.parse(await run(['partners', 'revoke-key', added.credentials[1].client_id]));
    expect(revoked).toEqual({ revoked: [added.credentials[1].client_id] });
    const list = JSON.parse(await run(['partners', 'list']));
    expect(list.partners[0].credentials.map((c: { state: string }) => c.state)).toEqual(['active', 'revoked', 'active']);
    expect(JSON.parse(await run(['deals', 'review']))).toEqual({ deals: [] });
    await expect(run(['deals', 'accept', 'dl_missing', '--no-push'])).rejects.toThrow('no deal dl_missing');
  });
});
