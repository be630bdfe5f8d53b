/** The push engine: pure planning (`planPush`), effects (`applyPlan`), and the orchestration (`pushTargets`). */
export { TargetConfig, resolveTarget, targetConfigHash, PUSH_MODES, FIELD_TYPES } from './config.js';
export type { ResolvedTarget, FieldMapping, PushMode, FieldType, TargetConfigInput } from './config.js';
export { planPush, fieldsHash, batchSizeFor } from './plan.js';
export type { Plan, PlannedOp, PlanCounts, PlanInput, LedgerEntry, PlanAction } from './plan.js';
export { applyPlan, DestinationUnavailableError } from './apply.js';
export type { ApplyOptions, ApplyResult, PushCounts, PushReject, RetrySettings } from './apply.js';
export { loadLedger, commitBatch } from './ledger.js';
export { RateGovernor } from './rate-governor.js';
export { pushTargets, throwIfRejectsOverLimit, renderPlan, renderSummary } from './push-targets.js';
export type { PushOptions, PushReport, TargetReport, PlanFile, StagedPush } from './push-targets.js';
