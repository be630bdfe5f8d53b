import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { CommandContext } from './context.js';

const CONFIG = `# partnersync.yaml — see the README's configuration reference for every key.
# Values like \${NAME} come from the environment or from .env next to this file.
# Secrets (tokens, passwords, client secrets) belong ONLY in the environment / .env.
version: 1

staging:
  # Embedded default: a SQLite file. For a team, use Postgres:
  #   url: postgres://partnersync@db.internal:5432/partnersync
  url: sqlite:.partnersync/staging.db

connections:
  # A Crossbeam account-mapping export (CSV) and your CRM accounts (CSV):
  partner_csv:
    type: csv
    streams:
      overlaps:
        file: data/crossbeam-account-mapping.csv
        layout: crossbeam-account-mapping
  crm_csv:
    type: csv
    streams:
      accounts:
        file: data/crm-accounts.csv
        primaryKey: [account_id]
  # The Crossbeam API (baseUrl can point at \`partnersync emulate crossbeam\`):
  # crossbeam:
  #   type: crossbeam
  #   organization: \${CROSSBEAM_ORGANIZATION}
  #   clientId: \${CROSSBEAM_CLIENT_ID}
  #   clientSecret: \${CROSSBEAM_CLIENT_SECRET}
  # Intercom, as a destination:
  # intercom:
  #   type: intercom
  #   accessToken: \${INTERCOM_ACCESS_TOKEN}
  files:
    type: file
    dir: out

models:
  dir: models
  inputs:
    accounts: [{ source: crm_csv.accounts, kind: csv }]
    partner_signals: [{ source: partner_csv.overlaps, kind: crossbeam-export }]
  # strategicPartners: [Acme Cloud]

targets:
  # Matched partner signals as out/matched-partner-signals.{jsonl,csv} (model: models/matched_partner_signals.sql)
  matched_signals:
    connection: files
    model: matched_partner_signals
    object: matched-partner-signals
    key: signal_id
    mode: mirror

pipelines:
  default:
    extract:
      - connection: partner_csv
      - connection: crm_csv
`;

const MATCHED_MODEL = `-- Partner signals with the account each one matched. Doubtful ones are in match_review.
select m.signal_id, s.partner, s.population, s.company_name as partner_record_name,
       s.website as partner_record_website, m.account_id, a.name as account_name, m.rule as matched_by, m.confidence
from {{ table('matches') }} m
join {{ ref('partner_signals') }} s on s.signal_id = m.signal_id
join {{ ref('accounts') }} a on a.account_id = m.account_id
where m.status = 'matched'
`;

const ENV_EXAMPLE = `# Copy to .env and fill in. Never commit .env.
CROSSBEAM_ORGANIZATION=
CROSSBEAM_CLIENT_ID=
CROSSBEAM_CLIENT_SECRET=
SALESFORCE_CLIENT_ID=
SALESFORCE_CLIENT_SECRET=
SALESFORCE_USERNAME=
SALESFORCE_PASSWORD=
HUBSPOT_ACCESS_TOKEN=
INTERCOM_ACCESS_TOKEN=
`;

const GITIGNORE = `.env
.partnersync/
out/
`;

/** `partnersync init [dir]`: scaffold a project. Refuses to overwrite anything that exists. */
export async function init(ctx: CommandContext, opts: { args: unknown[] }): Promise<void> {
  const dir = path.resolve(ctx.cwd, String(opts.args[0] ?? '.'));
  const files: Array<[string, string]> = [
    ['partnersync.yaml', CONFIG],
    ['.env.example', ENV_EXAMPLE],
    ['.gitignore', GITIGNORE],
    ['models/matched_partner_signals.sql', MATCHED_MODEL],
    ['data/.gitkeep', ''],
  ];
  const existing = files.map(([f]) => f).filter((f) => fs.existsSync(path.join(dir, f)));
  if (existing.length > 0) {
    throw new UsageError(`refusing to overwrite existing files in ${path.relative(ctx.cwd, dir) || '.'}: ${existing.join(', ')}`, {
      hint: 'move them away or choose another folder',
    });
  }
  for (const [f, content] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    // 'wx' fails if the file appeared since we looked: never clobber.
    fs.writeFileSync(path.join(dir, f), content, { flag: 'wx' });
  }
  const rel = path.relative(ctx.cwd, dir) || '.';
  ctx.out.result({ dir: rel, created: files.map(([f]) => f) }, [
    `Created in ${rel}: ${files.map(([f]) => f).join(', ')}`,
    'Next: put your CSV exports in data/, copy .env.example to .env, then run `partnersync run`.',
  ].join('\n'));
}
