import type { Destination, DestinationCapabilities, FieldCheck, WriteOperation } from '../connectors/types.js';
import type { PushMode, ResolvedTarget } from './config.js';

/**
 * What `partnersync check` and `partnersync push` both ask of a destination before a target is
 * pushed: can it write in the target's mode, and does its object have the mapped fields. One
 * place, so check reports exactly what push would refuse.
 */

/** The write operations a push mode needs from a destination. */
const REQUIRED_OPS: Record<PushMode, WriteOperation[]> = {
  upsert: ['upsert'],
  'update-only': ['update'],
  'create-only': ['create'],
  mirror: ['upsert', 'delete'],
  archive: ['upsert', 'archive'],
};

/**
 * Why a destination cannot serve a target's mode, or undefined when it can.
 *
 * @example
 *   unsupportedMode({ name: 'accounts', mode: 'mirror', … }, 'hubspot', { operations: ['upsert'], … });
 *   // 'targets.accounts.mode: hubspot cannot delete (it supports upsert)'
 */
export function unsupportedMode(target: ResolvedTarget, connectionType: string, caps: DestinationCapabilities): string | undefined {
  const needed = REQUIRED_OPS[target.mode].filter((op) => !caps.operations.includes(op));
  if (needed.length === 0) return undefined;
  return `targets.${target.name}.mode: ${connectionType} cannot ${needed.join(' / ')} (it supports ${caps.operations.join(', ')})`;
}

/**
 * The destination's preflight for a target: its mapped fields (untyped ones as strings) and its key
 * with the operation the mode writes by. `create` lets the destination add what is missing.
 *
 * @example
 *   const pre = await preflightTarget(destination, target, false);
 *   if (pre.missing.length) …
 */
export function preflightTarget(destination: Destination, target: ResolvedTarget, create: boolean): Promise<FieldCheck> {
  const keyOp: WriteOperation = target.mode === 'update-only' ? 'update' : target.mode === 'create-only' ? 'create' : 'upsert';
  const fields = target.fields.map((f) => ({ name: f.destination, type: f.type ?? ('string' as const) }));
  return destination.preflight(target.object, fields, create, { field: target.key.destination, operation: keyOp });
}
