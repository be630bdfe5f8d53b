#!/usr/bin/env node
// `npm run demo:offline`: the whole pipeline against local emulators, no network needed.
// Starts Crossbeam, Salesforce and Intercom emulators on 127.0.0.1, seeds them (Salesforce accounts with
// the custom fields the targets write, Crossbeam overlaps of those accounts with three partners, Intercom
// company attributes), then runs `partnersync run` twice with fixtures/operate/partnersync.yaml pointed at
// them through environment variables: the first run writes, the second finds nothing to send.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { start: startSalesforce } = await import(dist('emulators/salesforce/index.js'));
const { start: startCrossbeam, stableUuid } = await import(dist('emulators/crossbeam/index.js'));
const { start: startIntercom } = await import(dist('emulators/intercom/index.js'));

const N = Number(process.argv[2] ?? 12);
const partners = ['Acme Cloud', 'Globex', 'Initech'];
const sf = await startSalesforce({
  users: [{ username: 'demo@partnersync.test', password: 'demo-password' }],
  clients: [{ clientId: 'partnersync-demo', clientSecret: 'demo-client-secret' }],
  seedData: {
    fields: { Account: [
      { name: 'Partner_Names__c', type: 'string', length: 255 },
      { name: 'Partner_Overlaps__c', type: 'textarea', length: 4000 },
      { name: 'Partner_Count__c', type: 'double' },
    ] },
    Account: Array.from({ length: N }, (_, i) => ({ Name: `Company ${i}`, Website: `https://www.company${i}.com` })),
  },
});
const ids = sf.state.list('Account').map((a) => String(a.Id));
const xb = await startCrossbeam({
  seedData: {
    oauth: { clientId: 'partnersync-demo', clientSecret: 'demo-crossbeam-secret' },
    partners: partners.map((name) => ({ name, uuid: stableUuid(`partner:${name}`) })),
    partner_populations: [{ id: 1, name: 'Customers' }, { id: 2, name: 'Open Opportunities' }, { id: 3, name: 'Prospects' }],
    records: ids.map((id, i) => ({ record_id: id, crossbeam_record_id: stableUuid(`rec:${i}`), record_name: `Company ${i}`, record_website: `company${i}.com` })),
    overlaps: ids.flatMap((id, i) => (i % 3 === 2 ? [] : [
      { record_id: id, partner_id: stableUuid(`partner:${partners[i % 3]}`), partner_crossbeam_record_id: stableUuid(`p:${i}:a`), partner_populations: [1 + (i % 3)] },
    ])),
  },
});
const ic = await startIntercom({
  tokens: ['demo-intercom-token'],
  seedData: { dataAttributes: [
    { name: 'partner_names', model: 'company', data_type: 'string' },
    { name: 'partner_overlaps', model: 'company', data_type: 'string' },
    { name: 'partner_count', model: 'company', data_type: 'float' },
  ] },
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partnersync-offline-'));
const env = {
  ...process.env,
  PARTNERSYNC_STAGING_URL: `sqlite:${path.join(dir, 'staging.db')}`,
  CROSSBEAM_BASE_URL: xb.url, CROSSBEAM_ORGANIZATION: xb.orgUuid, CROSSBEAM_CLIENT_ID: 'partnersync-demo', CROSSBEAM_CLIENT_SECRET: 'demo-crossbeam-secret',
  SALESFORCE_LOGIN_URL: sf.url, SALESFORCE_CLIENT_ID: 'partnersync-demo', SALESFORCE_CLIENT_SECRET: 'demo-client-secret',
  SALESFORCE_USERNAME: 'demo@partnersync.test', SALESFORCE_PASSWORD: 'demo-password',
  INTERCOM_BASE_URL: ic.url, INTERCOM_ACCESS_TOKEN: 'demo-intercom-token',
};
const config = path.join(root, 'fixtures', 'operate', 'partnersync.yaml');
// Asynchronous: the emulators live in this process and must keep answering while the CLI runs.
const cli = (args) => new Promise((resolve) => {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'partnersync.js'), ...args, '--config', config], { env, stdio: 'inherit' });
  child.on('close', resolve);
});
let code = 0;
try {
  console.log(`emulators: crossbeam ${xb.url}, salesforce ${sf.url}, intercom ${ic.url}; staging ${dir}\n`);
  for (const pass of ['first run', 'second run (nothing changed)']) {
    console.log(`--- ${pass}`);
    code = await cli(['run']);
    if (code !== 0) break;
  }
  const withPartners = sf.state.list('Account').filter((a) => a.Partner_Names__c);
  console.log(`\nSalesforce accounts with partner fields: ${withPartners.length} of ${ids.length}; Intercom companies: ${ic.state.companies.size}`);
} finally {
  await Promise.all([sf.stop(), xb.stop(), ic.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
