import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { start as startCrossbeam, stableUuid, type CrossbeamEmulator } from '../../src/emulators/crossbeam/index.js';
import { start as startIntercom, type IntercomEmulator } from '../../src/emulators/intercom/index.js';
import { start as startSalesforce } from '../../src/emulators/salesforce/index.js';
import type { SalesforceState } from '../../src/emulators/salesforce/salesforce-state.js';
import type { Emulator } from '../../src/emulators/shared/types.js';

/**
 * The world the operate tests run the built CLI against: Crossbeam, Salesforce and Intercom emulators in
 * this process, `fixtures/operate/partnersync.yaml` copied into a temp folder (so staging and rejects
 * land there), and the environment that points the config at the emulators.
 */
export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const bin = path.join(repo, 'bin', 'partnersync.js');
export const fixtureConfig = path.join(repo, 'fixtures', 'operate', 'partnersync.yaml');

/** Build dist/ when it is missing or older than src/ (one build at a time across test files). */
export function ensureBuilt(): void {
  const newest = (dir: string): number => {
    let max = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      max = Math.max(max, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
    }
    return max;
  };
  const lock = path.join(os.tmpdir(), 'partnersync-operate-build.lock');
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than 5 minutes is left over from a killed run.
      const st = fs.statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() - started > 300_000) throw new Error('waited 5 minutes for another build');
      spawnSync('sleep', ['1']);
    }
  }
  try {
    const main = path.join(repo, 'dist', 'main.js');
    if (!fs.existsSync(main) || fs.statSync(main).mtimeMs < newest(path.join(repo, 'src'))) {
      spawnSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: repo, stdio: 'ignore' });
      // tsc keeps the mtime of unchanged outputs: mark the build as done now.
      const now = new Date();
      fs.utimesSync(main, now, now);
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface Secrets {
  crossbeamClientSecret: string;
  salesforceClientSecret: string;
  salesforcePassword: string;
  intercomToken: string;
}

export function randomSecrets(): Secrets {
  const r = () => `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  return { crossbeamClientSecret: `xbs-${r()}`, salesforceClientSecret: `sfs-${r()}`, salesforcePassword: `sfp-${r()}`, intercomToken: `ict-${r()}` };
}

export const PARTNERS = ['Acme Cloud', 'Globex', 'Initech'];
export const POPULATIONS = [
  { id: 1, name: 'Customers' },
  { id: 2, name: 'Open Opportunities' },
  { id: 3, name: 'Prospects' },
];

export interface World {
  dir: string;
  config: string;
  env: Record<string, string>;
  secrets: Secrets;
  xb: CrossbeamEmulator;
  sf: Emulator<SalesforceState>;
  ic: IntercomEmulator;
  /** Salesforce account ids, in seed order. */
  accountIds: string[];
  stop(): Promise<void>;
}

export interface WorldOptions {
  accounts?: number;
  /** Extra fields of the i-th Salesforce account (e.g. its SystemModstamp). */
  accountFields?: (i: number) => Record<string, unknown>;
  /** Edit the parsed config before it is written (batch sizes, retries, page sizes). */
  patchConfig?: (config: Record<string, any>) => void;
}

/**
 * N Salesforce accounts (company<i>.com); Crossbeam holds the same accounts as our records and
 * overlaps with 1–2 partners for two of every three of them; Salesforce has the custom fields and
 * Intercom the company attributes the targets write.
 */
export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const n = opts.accounts ?? 30;
  const secrets = randomSecrets();
  const sf = await startSalesforce({
    users: [{ username: 'integration@partnersync.test', password: secrets.salesforcePassword }],
    clients: [{ clientId: 'partnersync-ci', clientSecret: secrets.salesforceClientSecret }],
    seedData: {
      fields: {
        Account: [
          { name: 'Partner_Names__c', type: 'string', length: 255 },
          { name: 'Partner_Overlaps__c', type: 'textarea', length: 4000 },
          { name: 'Partner_Count__c', type: 'double' },
        ],
      },
      Account: Array.from({ length: n }, (_, i) => ({ Name: `Company ${i}`, Website: `https://www.company${i}.com`, ...opts.accountFields?.(i) })),
    },
  });
  const accountIds = sf.state.list('Account').map((a) => String(a.Id));
  const xb = await startCrossbeam({
    rateLimit: { limit: 100_000, windowMs: 1000 },
    seedData: {
      oauth: { clientId: 'partnersync-ci', clientSecret: secrets.crossbeamClientSecret },
      partners: PARTNERS.map((name) => ({ name, uuid: stableUuid(`partner:${name}`) })),
      partner_populations: POPULATIONS,
      records: accountIds.map((id, i) => ({ record_id: id, crossbeam_record_id: stableUuid(`rec:${i}`), record_name: `Company ${i}`, record_website: `company${i}.com` })),
      overlaps: accountIds.flatMap((id, i) =>
        i % 3 === 2
          ? []
          : [
              { record_id: id, partner_id: stableUuid(`partner:${PARTNERS[i % 3]}`), partner_crossbeam_record_id: stableUuid(`p:${i}:a`), partner_populations: [1 + (i % 3)] },
              ...(i % 2 === 0 ? [{ record_id: id, partner_id: stableUuid(`partner:${PARTNERS[(i + 1) % 3]}`), partner_crossbeam_record_id: stableUuid(`p:${i}:b`), partner_populations: [2] }] : []),
            ],
      ),
    },
  });
  const ic = await startIntercom({
    tokens: [secrets.intercomToken],
    rateLimit: { limit: 10_000, windowMs: 10_000 },
    seedData: {
      dataAttributes: [
        { name: 'partner_names', model: 'company', data_type: 'string' },
        { name: 'partner_overlaps', model: 'company', data_type: 'string' },
        { name: 'partner_count', model: 'company', data_type: 'float' },
      ],
    },
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-operate-'));
  const config = path.join(dir, 'partnersync.yaml');
  const doc = parse(fs.readFileSync(fixtureConfig, 'utf8')) as Record<string, any>;
  // The emulators take far more requests than the real services; keep the pacing out of test time.
  doc.connections.intercom.requestsPerTenSeconds = 10_000;
  opts.patchConfig?.(doc);
  fs.writeFileSync(config, stringify(doc));

  const env: Record<string, string> = {
    CROSSBEAM_BASE_URL: xb.url,
    CROSSBEAM_ORGANIZATION: xb.orgUuid,
    CROSSBEAM_CLIENT_ID: 'partnersync-ci',
    CROSSBEAM_CLIENT_SECRET: secrets.crossbeamClientSecret,
    SALESFORCE_LOGIN_URL: sf.url,
    SALESFORCE_CLIENT_ID: 'partnersync-ci',
    SALESFORCE_CLIENT_SECRET: secrets.salesforceClientSecret,
    SALESFORCE_USERNAME: 'integration@partnersync.test',
    SALESFORCE_PASSWORD: secrets.salesforcePassword,
    INTERCOM_BASE_URL: ic.url,
    INTERCOM_ACCESS_TOKEN: secrets.intercomToken,
  };
  return {
    dir,
    config,
    env,
    secrets,
    xb,
    sf,
    ic,
    accountIds,
    async stop() {
      await Promise.all([xb.stop(), sf.stop(), ic.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Spawn the built CLI in the world's folder (no TTY, stdin closed: it must never wait for input). */
export function spawnCli(world: Pick<World, 'dir' | 'env'>, args: string[], extraEnv: Record<string, string | undefined> = {}, timeoutMs = 90_000): Cli {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...world.env, ...extraEnv };
  delete env.PARTNERSYNC_CONFIG;
  const child = spawn(process.execPath, [bin, ...args], { cwd: world.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export const runCli = (world: Pick<World, 'dir' | 'env'>, args: string[], extraEnv?: Record<string, string | undefined>) => spawnCli(world, args, extraEnv).done;

/** Rows of a staging table (the world's default SQLite staging). */
export function stagingRows(world: Pick<World, 'dir'>, sql: string, ...params: unknown[]): Array<Record<string, any>> {
  const db = new Database(path.join(world.dir, '.partnersync', 'staging.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Array<Record<string, any>>;
  } finally {
    db.close();
  }
}

/** Write calls the destination emulators have answered so far. */
export function writeCalls(world: Pick<World, 'sf' | 'ic'>): { salesforce: number; intercom: number } {
  const sfRoutes = ['collections-create', 'collections-update', 'collections-upsert', 'collections-delete', 'bulk2-ingest-create', 'sobject-update', 'sobject-create', 'sobject-upsert'];
  const icRoutes = ['companies-create-or-update', 'companies-update', 'companies-delete', 'data-attributes-create'];
  return {
    salesforce: sfRoutes.reduce((n, r) => n + world.sf.calls(r), 0),
    intercom: icRoutes.reduce((n, r) => n + world.ic.calls(r), 0),
  };
}

/**
 * The destinations hold exactly what the model says: every model row is in Intercom (name and the
 * three attributes) and on its Salesforce account; Intercom has no other companies, and Salesforce
 * accounts outside the model carry no partner fields.
 */
export function destinationDiff(world: World): string[] {
  const model = stagingRows(world, 'SELECT * FROM play_partner_overlap_summary');
  const diffs: string[] = [];
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  for (const row of model) {
    const c = world.ic.state.companyByCompanyId(row.account_id);
    if (!c) diffs.push(`intercom: no company ${row.account_id}`);
    else {
      const got = { name: c.name, partner_names: c.custom_attributes.partner_names, partner_overlaps: c.custom_attributes.partner_overlaps, partner_count: num(c.custom_attributes.partner_count) };
      const want = { name: row.account_name, partner_names: row.partner_names, partner_overlaps: row.populations, partner_count: num(row.partner_count) };
      if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`intercom ${row.account_id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
    }
    const a = world.sf.state.get('Account', row.account_id);
    const got = { names: a?.Partner_Names__c ?? null, overlaps: a?.Partner_Overlaps__c ?? null, count: num(a?.Partner_Count__c) };
    const want = { names: row.partner_names, overlaps: row.populations, count: num(row.partner_count) };
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`salesforce ${row.account_id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
  }
  const inModel = new Set(model.map((r) => r.account_id));
  if (world.ic.state.companies.size !== model.length) diffs.push(`intercom holds ${world.ic.state.companies.size} companies, the model ${model.length}`);
  for (const a of world.sf.state.list('Account')) {
    if (!inModel.has(String(a.Id)) && (a.Partner_Names__c ?? null) !== null) diffs.push(`salesforce ${a.Id}: partner fields on an account outside the model`);
  }
  return diffs;
}
