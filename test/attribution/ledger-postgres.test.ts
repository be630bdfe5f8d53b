import crypto from 'node:crypto';
import knexFactory from 'knex';
import { afterAll, describe, it } from 'vitest';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { ledgerStory } from './ledger-story.js';

const schema = `t_attr_${crypto.randomBytes(4).toString('hex')}`;
const base = 'postgres://postgres@127.0.0.1:5432/test';
let staging: Staging | undefined;

afterAll(async () => {
  await staging?.close();
  const admin = knexFactory({ client: 'pg', connection: base });
  await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
  await admin.destroy();
});

describe('attribution ledger (Postgres)', () => {
  it('posts, reverses and replays byte for byte on Postgres too (bigint amounts, same SQL)', async () => {
    staging = await openStaging(`${base}?schema=${schema}`);
    await ledgerStory(staging);
  });
});
