import { randomUUID } from 'node:crypto';
import { json, type EmulatorResponse } from '../shared/server.js';
import type { PropertyProblem } from './hubspot-state.js';

/**
 * HubSpot's error bodies (`ModelError` in the client: `status`, `message`, `correlationId`,
 * `category`, optional `subCategory`, `context`, `errors`, `links`) and the per-record
 * `StandardError` items of 207 batch answers.
 */

export function hsError(status: number, category: string, message: string, extra: Record<string, unknown> = {}): EmulatorResponse {
  return json(status, { status: 'error', message, correlationId: randomUUID(), category, ...extra });
}

export function validationError(message: string, extra: Record<string, unknown> = {}): EmulatorResponse {
  return hsError(400, 'VALIDATION_ERROR', message, extra);
}

/** The text HubSpot puts in `message` when property values are rejected. */
export function propertyProblemsMessage(problems: PropertyProblem[]): string {
  return `Property values were not valid: ${JSON.stringify(
    problems.map((p) => ({ isValid: false, message: p.message, error: p.error, name: p.name, localizedErrorMessage: p.message })),
  )}`;
}

export interface StandardError {
  status: 'error';
  category: string;
  subCategory?: string;
  message: string;
  context: Record<string, string[]>;
  errors: Array<{ message: string; code?: string; context?: Record<string, string[]> }>;
  links: Record<string, string>;
}

export function recordPropertyError(problems: PropertyProblem[], context: Record<string, string[]>): StandardError {
  return {
    status: 'error',
    category: 'VALIDATION_ERROR',
    message: propertyProblemsMessage(problems),
    context: { ...context, propertyName: problems.map((p) => p.name) },
    errors: problems.map((p) => ({ message: p.message, code: p.error, context: { propertyName: [p.name] } })),
    links: {},
  };
}

export function recordError(category: string, message: string, context: Record<string, string[]>, subCategory?: string): StandardError {
  return { status: 'error', category, ...(subCategory ? { subCategory } : {}), message, context, errors: [], links: {} };
}

export const AUTH_MISSING_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

/** What HubSpot answers when the burst window (`TEN_SECONDLY_ROLLING`) is used up; the client retries it after 10 s × attempt. */
export function tenSecondlyBody(): Record<string, unknown> {
  return {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: 'TEN_SECONDLY_ROLLING',
    requestId: randomUUID(),
  };
}

/** The search endpoints' own per-second limit; the client retries this exact message after 1 s × attempt. */
export function secondlyBody(): Record<string, unknown> {
  return {
    status: 'error',
    message: 'You have reached your secondly limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: 'SECONDLY',
    requestId: randomUUID(),
  };
}

/** The daily allowance; the client does not retry it. */
export function dailyBody(): Record<string, unknown> {
  return {
    status: 'error',
    message: 'You have reached your daily limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: 'DAILY',
    requestId: randomUUID(),
  };
}
