import { describe, expect, it } from 'vitest';
import type { Destination, DestinationCapabilities } from '../../src/connectors/types.js';
import { resolveTarget, TargetConfig, type TargetConfigInput } from '../../src/push/config.js';
import { preflightTarget, unsupportedMode } from '../../src/push/target-preflight.js';

function target(over: Partial<TargetConfigInput> = {}) {
  const raw = TargetConfig.parse({ connection: 'crm', model: 'accounts', object: 'companies', key: { source: 'account_id', destination: 'ext_id' }, ...over });
  return resolveTarget('accounts', raw, ['account_id', 'name']);
}

const caps = (operations: DestinationCapabilities['operations']): DestinationCapabilities => ({ maxBatch: 10, operations });

describe('unsupportedMode', () => {
  it('is undefined when the destination has every operation the mode needs', () => {
    expect(unsupportedMode(target({ mode: 'mirror' }), 'postgres', caps(['upsert', 'delete']))).toBeUndefined();
  });

  it('names the missing operations and what the destination supports', () => {
    expect(unsupportedMode(target({ mode: 'archive' }), 'snowflake', caps(['update']))).toBe('targets.accounts.mode: snowflake cannot upsert / archive (it supports update)');
    expect(unsupportedMode(target({ mode: 'create-only' }), 'hubspot', caps(['upsert']))).toBe('targets.accounts.mode: hubspot cannot create (it supports upsert)');
  });
});

describe('preflightTarget', () => {
  function recording() {
    const calls: unknown[][] = [];
    const destination = {
      capabilities: caps(['upsert', 'update', 'create']),
      check: async () => undefined,
      preflight: async (...args: unknown[]) => {
        calls.push(args);
        return { missing: ['x'], created: [] };
      },
      write: async () => [],
    } as unknown as Destination;
    return { destination, calls };
  }

  it('passes the mapped fields (untyped as string), the create flag and the key with the mode\'s operation', async () => {
    const { destination, calls } = recording();
    const t = target({ mode: 'update-only', fields: { title: 'name', size: { source: 'employees', type: 'number' } } });
    await expect(preflightTarget(destination, t, true)).resolves.toEqual({ missing: ['x'], created: [] });
    expect(calls).toEqual([
      ['companies', [{ name: 'title', type: 'string' }, { name: 'size', type: 'number' }], true, { field: 'ext_id', operation: 'update' }],
    ]);
  });

  it('keys create-only by create and the other modes by upsert', async () => {
    const { destination, calls } = recording();
    await preflightTarget(destination, target({ mode: 'create-only' }), false);
    await preflightTarget(destination, target({ mode: 'mirror' }), false);
    expect(calls.map((c) => (c[3] as { operation: string }).operation)).toEqual(['create', 'upsert']);
    expect(calls[0]![1]).toEqual([{ name: 'name', type: 'string' }]);
  });
});
