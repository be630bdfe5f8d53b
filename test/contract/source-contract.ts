import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import type { ReadMessage, Source, StreamDescriptor } from '../../src/connectors/types.js';
import { recordKey } from '../../src/staging/raw-tables.js';

/**
 * The contract every source passes. A case supplies its config schema and a factory for a source
 * over data with several checkpoints per stream (and, when the source can meet unreadable input,
 * a source over bad data). The suite checks behaviour only: what is read, and that reading resumed
 * from any checkpoint ends with exactly the records of an uninterrupted read.
 */
export interface SourceContractCase {
  configSchema: ZodType;
  makeSource(): Promise<{ source: Source; cleanup?(): Promise<void> }>;
  /** A source whose data contains unreadable records (yields `reject` messages). */
  makeBadSource?(): Promise<{ source: Source; cleanup?(): Promise<void> }>;
}

async function collect(source: Source, stream: StreamDescriptor, state?: unknown): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  for await (const m of source.read(stream, { state })) out.push(m);
  return out;
}

function keysOf(messages: ReadMessage[], stream: StreamDescriptor): string[] {
  return messages.flatMap((m) => (m.type === 'record' ? [recordKey(m.record, stream.primaryKey) ?? '<missing key>'] : []));
}

export function sourceContract(name: string, c: SourceContractCase): void {
  describe(`source contract: ${name}`, () => {
    it('its config schema rejects an empty config', () => {
      expect(c.configSchema.safeParse({}).success).toBe(false);
    });

    it('discovers streams with lower_snake_case names and a primary key', async () => {
      const { source, cleanup } = await c.makeSource();
      try {
        await source.check();
        const streams = await source.discover();
        expect(streams.length).toBeGreaterThan(0);
        for (const s of streams) {
          expect(s.name).toMatch(/^[a-z][a-z0-9_]*$/);
          expect(s.primaryKey.length).toBeGreaterThan(0);
        }
      } finally {
        await source.close?.();
        await cleanup?.();
      }
    });

    it('resumes from any checkpoint with nothing lost and nothing doubled', async () => {
      const { source, cleanup } = await c.makeSource();
      try {
        for (const stream of await source.discover()) {
          const full = await collect(source, stream);
          const all = keysOf(full, stream);
          expect(all.length).toBeGreaterThan(0);
          expect(new Set(all).size).toBe(all.length);
          const checkpoints = full.flatMap((m, i) => (m.type === 'checkpoint' ? [i] : []));
          expect(checkpoints.length).toBeGreaterThanOrEqual(2);
          // The last message of a read is a checkpoint: nothing read is left without one.
          expect(full[full.length - 1]!.type).toBe('checkpoint');
          const picks = [...new Set([checkpoints[0]!, checkpoints[Math.floor(checkpoints.length / 2)]!, checkpoints[checkpoints.length - 2]!])];
          for (const at of picks) {
            const before = keysOf(full.slice(0, at + 1), stream);
            const state = (full[at] as Extract<ReadMessage, { type: 'checkpoint' }>).state;
            const resumed = keysOf(await collect(source, stream, JSON.parse(JSON.stringify(state))), stream);
            expect([...before, ...resumed].sort()).toEqual([...all].sort());
          }
        }
      } finally {
        await source.close?.();
        await cleanup?.();
      }
    });

    if (c.makeBadSource) {
      it('turns unreadable records into rejects with a location and a reason, and goes on', async () => {
        const { source, cleanup } = await c.makeBadSource!();
        try {
          let rejects = 0;
          let after = 0;
          for (const stream of await source.discover()) {
            for (const m of await collect(source, stream)) {
              if (m.type === 'reject') {
                rejects++;
                after = 0;
                expect(m.location).toMatch(/\S/);
                expect(m.reason).toMatch(/\S/);
              } else if (m.type === 'record') after++;
            }
          }
          expect(rejects).toBeGreaterThan(0);
          expect(after).toBeGreaterThan(0);
        } finally {
          await source.close?.();
          await cleanup?.();
        }
      });
    }
  });
}
