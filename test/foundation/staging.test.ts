import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { openStaging, type Staging } from '../../src/staging/db.js';
import { acquireLock, currentLock, isStale } from '../../src/staging/lock.js';
import { ensureRawTable, rawColumnName, rawTableName, recordKey, toRawRow } from '../../src/staging/raw-tables.js';
import { getRun, listRuns, RunLog } from '../../src/staging/runs.js';
import { getState, putState, resetState } from '../../src/staging/state.js';
import { LockedError } from '../../src/errors.js';
import { dialects, newStagingUrl, type TestStaging } from '../helpers/staging.js';

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe.each(dialects)('staging on %s', (dialect) => {
  let t: TestStaging;
  let staging: Staging;
  const open = async () => {
    t = newStagingUrl(dialect, 't_staging');
    staging = await openStaging(t.url);
    return staging;
  };
  afterEach(async () => {
    await staging?.close();
    await t?.cleanup();
  });

  it('migrates once and is idempotent on reopen', async () => {
    await open();
    for (const table of ['runs', 'run_events', 'sync_state', 'locks', 'rejects']) expect(await staging.db.schema.hasTable(table)).toBe(true);
    const again = await openStaging(t.url);
    const rows = await again.db('partnersync_migrations').select('name');
    expect(rows.map((r) => r.name)).toContain('001-core');
    await again.close();
  });

  it('keeps state per connection, stream and query parameters', async () => {
    await open();
    await putState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'a' } }, { cursor: 'c1' });
    await putState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'b' } }, { cursor: 'c2' });
    await putState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'a' } }, { cursor: 'c3' });
    expect(await getState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'a' } })).toEqual({ cursor: 'c3' });
    expect(await getState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'b' } })).toEqual({ cursor: 'c2' });
    expect(await getState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'c' } })).toBeUndefined();
    expect(await resetState(staging, 'xb', 'overlaps')).toBe(2);
    expect(await getState(staging, { connection: 'xb', stream: 'overlaps', params: { partner: 'a' } })).toBeUndefined();
  });

  it('records runs with redacted args, events and counts', async () => {
    await open();
    const run = await RunLog.start(staging, 'push', { target: 'intercom', accessToken: 'tok-should-hide' });
    await run.event('info', 'batch 1 sent', { n: 100 }, 'push');
    await run.count('push', { sent: 100, rejected: 2 });
    await run.finish('succeeded', 0);
    const [latest] = await listRuns(staging, 5);
    expect(latest).toMatchObject({ id: run.id, command: 'push', status: 'succeeded', exitCode: 0, counts: { push: { sent: 100, rejected: 2 } } });
    expect(JSON.stringify(latest!.args)).not.toContain('tok-should-hide');
    const shown = await getRun(staging, run.id);
    expect(shown!.events).toEqual([expect.objectContaining({ level: 'info', step: 'push', message: 'batch 1 sent', data: { n: 100 } })]);
  });

  it('creates raw tables and adds columns as new fields appear', async () => {
    await open();
    const table = rawTableName('CRM csv', 'Accounts');
    expect(table).toBe('raw_crm_csv__accounts');
    const row = toRawRow({ Id: '001', Website: 'acme.com', ParentId: null, Tags: ['a'], Active: true });
    await ensureRawTable(staging.db, table, Object.keys(row));
    await staging.db(table).insert({ ...row, _key: recordKey({ Id: '001' }, ['Id']), _hash: 'h', _extracted_at: 'now', _run_id: 'r' });
    await ensureRawTable(staging.db, table, ['id', 'new_field']);
    await staging.db(table).insert({ id: '002', new_field: 'x', _key: '002', _hash: 'h', _extracted_at: 'now', _run_id: 'r' });
    const rows = await staging.db(table).orderBy('_key');
    expect(rows.map((r) => [r.id, r.website, r.parentid, r.tags, r.active, r.new_field, r._deleted])).toEqual([
      ['001', 'acme.com', null, '["a"]', 'true', null, 0],
      ['002', null, null, null, null, 'x', 0],
    ]);
    expect(rawColumnName('Société Name')).toBe('societe_name');
  });

  it('lets one run hold the lock; a second gets LockedError naming pid, host and start', async () => {
    await open();
    const held = await acquireLock(staging, { runId: 'run-a', command: 'push' });
    const err = await acquireLock(staging, { runId: 'run-b', command: 'extract' }).catch((e) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain(`pid ${process.pid} on ${os.hostname()}`);
    expect(err.message).toMatch(/started \d{4}-\d\d-\d\dT/);
    await held.release();
    const next = await acquireLock(staging, { runId: 'run-b', command: 'extract' });
    expect((await currentLock(staging))?.runId).toBe('run-b');
    await next.release();
    expect(await currentLock(staging)).toBeUndefined();
  });

  it('takes over a stale lock left by a dead process on this host', async () => {
    await open();
    const pid = deadPid();
    await acquireLock(staging, { runId: 'crashed', command: 'push' }, { pid });
    const held = await acquireLock(staging, { runId: 'fresh', command: 'push' });
    expect(held.tookOverFrom).toMatchObject({ runId: 'crashed', pid });
    expect((await currentLock(staging))?.runId).toBe('fresh');
    await held.release();
  });

  it('respects a lock from another host until its heartbeat is stale', async () => {
    await open();
    await acquireLock(staging, { runId: 'remote', command: 'run' }, { host: 'other-host.example', pid: 1 });
    await expect(acquireLock(staging, { runId: 'local', command: 'run' })).rejects.toBeInstanceOf(LockedError);
    await staging.db('locks').update({ heartbeat_at: new Date(Date.now() - 3_600_000).toISOString() });
    const held = await acquireLock(staging, { runId: 'local', command: 'run' }, { staleAfterMs: 600_000 });
    expect(held.tookOverFrom?.host).toBe('other-host.example');
    await held.release();
  });

  it('lets exactly one of several racing contenders take a stale lock', async () => {
    await open();
    await acquireLock(staging, { runId: 'crashed', command: 'push' }, { pid: deadPid() });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => acquireLock(staging, { runId: `c${i}`, command: 'push' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LockedError);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value.release();
  });
});

describe('lock staleness rules', () => {
  it('same host: stale iff the pid is gone; other host: by heartbeat age', () => {
    const base = { runId: 'r', command: 'c', startedAt: '', heartbeatAt: new Date(1_000_000).toISOString() };
    expect(isStale({ ...base, pid: process.pid, host: 'h' }, 1000, 1_000_500, 'h')).toBe(false);
    expect(isStale({ ...base, pid: deadPid(), host: 'h' }, 1000, 1_000_500, 'h')).toBe(true);
    expect(isStale({ ...base, pid: 1, host: 'x' }, 1000, 1_000_500, 'h')).toBe(false);
    expect(isStale({ ...base, pid: 1, host: 'x' }, 1000, 1_002_000, 'h')).toBe(true);
  });
});
