import { parse } from 'csv-parse/sync';
import type { EmulatorRequest, EmulatorResponse } from '../shared/server.js';
import { DELIMITERS, jsonBody, sfError, toCsv, versionOf } from './salesforce-http.js';
import { SoqlError } from './salesforce-soql.js';
import { formatDateTime, type CompiledQuery, type InputFormat, type SalesforceState, type SaveResult, type SfRecord } from './salesforce-state.js';

/**
 * Bulk API 2.0: ingest jobs (Open → UploadComplete → InProgress → JobComplete | Failed | Aborted,
 * CSV uploads, the three result CSVs) and query jobs (results paged with `Sforce-Locator`).
 * A job moves one state further on each status poll, so jsforce's polling loop sees InProgress
 * before JobComplete; the data is applied when the job completes.
 */

type Handler = (req: EmulatorRequest) => EmulatorResponse;

const INGEST_OPS = ['insert', 'update', 'upsert', 'delete', 'hardDelete'];

interface IngestJob {
  info: Record<string, unknown> & { id: string; state: string; operation: string; object: string };
  uploads: string[];
  polls: number;
  header: string[];
  successful: unknown[][];
  failed: unknown[][];
  unprocessed: unknown[][];
}

interface QueryJob {
  info: Record<string, unknown> & { id: string; state: string; operation: string; object: string };
  compiled: CompiledQuery;
  polls: number;
  header: string[];
  rows: unknown[][];
}

const bulkError = (status: number, errorCode: string, message: string): EmulatorResponse => sfError(status, errorCode, message);

export class Bulk2 {
  readonly ingestJobs = new Map<string, IngestJob>();
  readonly queryJobs = new Map<string, QueryJob>();

  constructor(private state: SalesforceState) {}

  private baseInfo(req: EmulatorRequest, id: string, body: Record<string, unknown>) {
    const now = formatDateTime(this.state.now());
    return {
      id,
      createdById: this.state.users[0]?.id,
      createdDate: now,
      systemModstamp: now,
      apiVersion: Number(versionOf(req)),
      concurrencyMode: 'Parallel',
      contentType: 'CSV',
      lineEnding: String(body.lineEnding ?? 'LF'),
      columnDelimiter: String(body.columnDelimiter ?? 'COMMA'),
      numberRecordsProcessed: 0,
      retries: 0,
      totalProcessingTime: 0,
    };
  }

  // ---------- ingest ----------

  ingestCreate: Handler = (req) => {
    const parsed = jsonBody(req);
    if (!parsed.ok) return parsed.res;
    const b = parsed.body;
    const obj = typeof b.object === 'string' ? this.state.object(b.object) : undefined;
    const op = String(b.operation ?? '');
    if (!obj) return bulkError(400, 'NOT_FOUND', `sObject type '${String(b.object ?? '')}' is not supported.`);
    if (!INGEST_OPS.includes(op)) return bulkError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${op}`);
    if (b.contentType !== undefined && b.contentType !== 'CSV') return bulkError(400, 'INVALIDJOB', `InvalidJob : Invalid content type: ${String(b.contentType)}`);
    if (b.columnDelimiter !== undefined && !DELIMITERS[String(b.columnDelimiter)]) return bulkError(400, 'INVALIDJOB', `InvalidJob : Invalid column delimiter: ${String(b.columnDelimiter)}`);
    let extField: string | undefined;
    if (op === 'upsert') {
      const f = typeof b.externalIdFieldName === 'string' ? obj.fields.get(b.externalIdFieldName.toLowerCase()) : undefined;
      if (!b.externalIdFieldName) return bulkError(400, 'INVALIDJOB', `InvalidJob : External ID was blank for ${obj.name}. An External ID must be specified for upsert.`);
      if (!f || (f.name !== 'Id' && !f.externalId && !f.unique))
        return bulkError(400, 'INVALIDJOB', `InvalidJob : Field name provided, ${String(b.externalIdFieldName)} is not an External ID or indexed field for ${obj.name}`);
      extField = f.name;
    }
    const id = this.state.nextId('750');
    const v = versionOf(req);
    const info = {
      ...this.baseInfo(req, id, b),
      operation: op,
      object: obj.name,
      state: 'Open',
      ...(extField ? { externalIdFieldName: extField } : {}),
      ...(b.assignmentRuleId ? { assignmentRuleId: b.assignmentRuleId } : {}),
      contentUrl: `services/data/v${v}/jobs/ingest/${id}/batches`,
      jobType: 'V2Ingest',
      numberRecordsFailed: 0,
      apexProcessingTime: 0,
      apiActiveProcessingTime: 0,
    };
    this.ingestJobs.set(id, { info, uploads: [], polls: 0, header: [], successful: [], failed: [], unprocessed: [] });
    return { status: 200, body: info };
  };

  ingestList: Handler = () => ({
    status: 200,
    body: { done: true, nextRecordsUrl: null, records: [...this.ingestJobs.values()].map((j) => j.info) },
  });

  private ingestJob(req: EmulatorRequest): IngestJob | EmulatorResponse {
    const job = this.ingestJobs.get(req.params.id ?? '');
    return job ?? bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  ingestUpload: Handler = (req) => {
    const job = this.ingestJob(req);
    if (!('info' in job)) return job;
    if (job.info.state !== 'Open')
      return bulkError(409, 'INVALIDJOBSTATE', `InvalidJobState : Upload is only allowed for jobs in Open state; job ${job.info.id} is ${job.info.state}`);
    if (!/csv/i.test(String(req.headers['content-type'] ?? '')))
      return bulkError(400, 'INVALIDJOB', `InvalidJob : Unsupported content type: ${String(req.headers['content-type'] ?? '(none)')}; use text/csv`);
    job.uploads.push(req.rawBody.toString('utf8'));
    return { status: 201 };
  };

  ingestState: Handler = (req) => {
    const job = this.ingestJob(req);
    if (!('info' in job)) return job;
    const parsed = jsonBody(req);
    if (!parsed.ok) return parsed.res;
    const target = String(parsed.body.state ?? '');
    const from = job.info.state;
    if (target === 'UploadComplete' && from === 'Open') {
      job.info.state = 'UploadComplete';
    } else if (target === 'Aborted' && ['Open', 'UploadComplete', 'InProgress'].includes(from)) {
      job.info.state = 'Aborted';
    } else {
      return bulkError(400, 'INVALIDJOBSTATE', `InvalidJobState : Cannot change job ${job.info.id} from ${from} to ${target || '(none)'}`);
    }
    job.info.systemModstamp = formatDateTime(this.state.now());
    return { status: 200, body: job.info };
  };

  ingestGet: Handler = (req) => {
    const job = this.ingestJob(req);
    if (!('info' in job)) return job;
    if (job.info.state === 'UploadComplete' || job.info.state === 'InProgress') {
      job.polls += 1;
      if (job.polls >= this.state.bulkPollsToComplete) this.processIngest(job);
      else job.info.state = 'InProgress';
    }
    return { status: 200, body: job.info };
  };

  ingestDelete: Handler = (req) => {
    const job = this.ingestJob(req);
    if (!('info' in job)) return job;
    if (['Open', 'InProgress'].includes(job.info.state))
      return bulkError(400, 'INVALIDJOBSTATE', `InvalidJobState : Job ${job.info.id} must be UploadComplete, JobComplete, Aborted or Failed to be deleted`);
    this.ingestJobs.delete(job.info.id);
    return { status: 204 };
  };

  private delimiterOf(info: Record<string, unknown>): string {
    return DELIMITERS[String(info.columnDelimiter ?? 'COMMA')] ?? ',';
  }

  private processIngest(job: IngestJob): void {
    const st = this.state;
    const obj = st.object(job.info.object)!;
    const delimiter = this.delimiterOf(job.info);
    let header: string[] = [];
    const rows: string[][] = [];
    try {
      for (const text of job.uploads) {
        const parsed = parse(text, { delimiter, relax_column_count: false, skip_empty_lines: true, bom: true }) as string[][];
        if (!parsed.length) continue;
        if (!header.length) header = parsed[0]!;
        else if (parsed[0]!.join('\u0000') !== header.join('\u0000')) throw new Error('InvalidBatch : All uploads of a job must have the same header row');
        for (let i = 1; i < parsed.length; i++) rows.push(parsed[i]!);
      }
    } catch (err) {
      return this.failJob(job, header, rows, /^InvalidBatch/.test((err as Error).message) ? (err as Error).message : `InvalidBatch : Failed to parse CSV: ${(err as Error).message}`);
    }
    job.header = header;
    for (const col of header) {
      if (!obj.fields.has(col.toLowerCase())) return this.failJob(job, header, rows, `InvalidBatch : Field name not found : ${col}`);
    }
    const op = job.info.operation;
    const extField = job.info.externalIdFieldName as string | undefined;
    const format: InputFormat = 'csv';
    let failed = 0;
    for (const row of rows) {
      const input: SfRecord = {};
      header.forEach((h, i) => (input[h] = row[i] ?? ''));
      const idCol = header.find((h) => h.toLowerCase() === 'id');
      const rowId = idCol ? String(input[idCol] ?? '') : '';
      let r: SaveResult;
      if (op === 'insert') r = st.create(obj.name, input, format);
      else if (op === 'update')
        r = rowId ? st.update(obj.name, rowId, without(input, idCol), format) : { success: false, errors: [{ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in an update call', fields: [] }] };
      else if (op === 'upsert') {
        const extCol = header.find((h) => h.toLowerCase() === extField!.toLowerCase());
        r = st.upsert(obj.name, extField!, extCol ? input[extCol] : undefined, input, format);
      } else r = rowId ? st.remove(obj.name, rowId, op === 'hardDelete') : { success: false, errors: [{ statusCode: 'MISSING_ARGUMENT', message: 'Id not specified in a delete call', fields: [] }] };
      if (r.success) job.successful.push([r.id, r.created ? 'true' : 'false', ...row]);
      else {
        failed += 1;
        const e = r.errors[0]!;
        job.failed.push([r.id ?? (op === 'insert' || op === 'upsert' ? '' : rowId), `${e.statusCode}:${e.message}:${e.fields.join(',')} --`, ...row]);
      }
    }
    job.info.state = 'JobComplete';
    job.info.numberRecordsProcessed = rows.length;
    job.info.numberRecordsFailed = failed;
    job.info.systemModstamp = formatDateTime(st.now());
  }

  private failJob(job: IngestJob, header: string[], rows: string[][], message: string): void {
    job.header = header;
    job.unprocessed = rows;
    job.info.state = 'Failed';
    job.info.errorMessage = message;
    job.info.systemModstamp = formatDateTime(this.state.now());
  }

  private resultCsv(job: IngestJob, which: 'successful' | 'failed' | 'unprocessed'): EmulatorResponse {
    const delimiter = this.delimiterOf(job.info);
    const eol = job.info.lineEnding === 'CRLF' ? '\r\n' : '\n';
    const lead = which === 'successful' ? ['sf__Id', 'sf__Created'] : which === 'failed' ? ['sf__Id', 'sf__Error'] : [];
    // Aborted jobs report everything uploaded as unprocessed.
    const rows = which === 'unprocessed' && job.info.state === 'Aborted' ? this.uploadedRows(job) : job[which];
    const header = job.header.length ? job.header : this.uploadedHeader(job);
    return { status: 200, headers: { 'content-type': 'text/csv' }, body: toCsv([...lead, ...header], rows, delimiter, eol) };
  }

  private uploadedHeader(job: IngestJob): string[] {
    try {
      const first = job.uploads[0];
      return first ? ((parse(first, { delimiter: this.delimiterOf(job.info), to: 1, bom: true }) as string[][])[0] ?? []) : [];
    } catch {
      return [];
    }
  }

  private uploadedRows(job: IngestJob): unknown[][] {
    try {
      return job.uploads.flatMap((t) => (parse(t, { delimiter: this.delimiterOf(job.info), skip_empty_lines: true, bom: true }) as string[][]).slice(1));
    } catch {
      return [];
    }
  }

  ingestResults =
    (which: 'successful' | 'failed' | 'unprocessed'): Handler =>
    (req) => {
      const job = this.ingestJob(req);
      if (!('info' in job)) return job;
      if (which !== 'unprocessed' && !['JobComplete', 'Failed', 'Aborted'].includes(job.info.state))
        return bulkError(400, 'INVALIDJOBSTATE', `InvalidJobState : Results are available once job ${job.info.id} is complete; it is ${job.info.state}`);
      return this.resultCsv(job, which);
    };

  // ---------- query ----------

  queryCreate: Handler = (req) => {
    const parsed = jsonBody(req);
    if (!parsed.ok) return parsed.res;
    const b = parsed.body;
    const op = String(b.operation ?? 'query');
    if (op !== 'query' && op !== 'queryAll') return bulkError(400, 'INVALIDJOB', `InvalidJob : Invalid operation: ${op}`);
    if (b.columnDelimiter !== undefined && b.columnDelimiter !== null && !DELIMITERS[String(b.columnDelimiter)])
      return bulkError(400, 'INVALIDJOB', `InvalidJob : Invalid column delimiter: ${String(b.columnDelimiter)}`);
    let compiled: CompiledQuery;
    try {
      compiled = this.state.compile(String(b.query ?? ''));
    } catch (err) {
      if (err instanceof SoqlError) return bulkError(400, err.errorCode, err.message);
      throw err;
    }
    if (compiled.query.count) return bulkError(400, 'API_ERROR', 'Aggregate queries are not supported by Bulk API 2.0 query jobs');
    const id = this.state.nextId('750');
    const info = {
      ...this.baseInfo(req, id, { ...b, columnDelimiter: b.columnDelimiter ?? undefined, lineEnding: b.lineEnding ?? undefined }),
      operation: op,
      object: compiled.object.name,
      state: 'UploadComplete',
      jobType: 'V2Query',
      isPkChunkingSupported: true,
    };
    const header = compiled.fields.map((f) => f.names.join('.'));
    this.queryJobs.set(id, { info, compiled, polls: 0, header, rows: [] });
    return { status: 200, body: info };
  };

  private queryJob(req: EmulatorRequest): QueryJob | EmulatorResponse {
    return this.queryJobs.get(req.params.id ?? '') ?? bulkError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }

  queryGet: Handler = (req) => {
    const job = this.queryJob(req);
    if (!('info' in job)) return job;
    if (job.info.state === 'UploadComplete' || job.info.state === 'InProgress') {
      job.polls += 1;
      if (job.polls >= this.state.bulkPollsToComplete) {
        const recs = this.state.run(job.compiled, job.info.operation === 'queryAll');
        job.rows = recs.map((r) => job.compiled.fields.map((f) => csvValue(this.state.readPath(r, f))));
        job.info.state = 'JobComplete';
        job.info.numberRecordsProcessed = job.rows.length;
      } else job.info.state = 'InProgress';
    }
    return { status: 200, body: job.info };
  };

  queryResults: Handler = (req) => {
    const job = this.queryJob(req);
    if (!('info' in job)) return job;
    if (job.info.state !== 'JobComplete')
      return bulkError(400, 'INVALIDJOBSTATE', `InvalidJobState : Results are available once job ${job.info.id} is JobComplete; it is ${job.info.state}`);
    const locator = req.query.get('locator');
    let offset = 0;
    if (locator && locator !== 'null') {
      offset = Number(Buffer.from(locator, 'base64url').toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0 || offset > job.rows.length) return bulkError(400, 'INVALIDLOCATOR', `Invalid locator: ${locator}`);
    }
    const max = Number(req.query.get('maxRecords') ?? this.state.bulkQueryPageSize);
    const size = Number.isInteger(max) && max > 0 ? max : this.state.bulkQueryPageSize;
    const page = job.rows.slice(offset, offset + size);
    const nextOffset = offset + page.length;
    const next = nextOffset < job.rows.length ? Buffer.from(String(nextOffset), 'utf8').toString('base64url') : 'null';
    const delimiter = DELIMITERS[String(job.info.columnDelimiter)] ?? ',';
    const eol = job.info.lineEnding === 'CRLF' ? '\r\n' : '\n';
    return {
      status: 200,
      headers: { 'content-type': 'text/csv', 'Sforce-Locator': next, 'Sforce-NumberOfRecords': page.length },
      body: toCsv(job.header, page, delimiter, eol),
    };
  };

  queryState: Handler = (req) => {
    const job = this.queryJob(req);
    if (!('info' in job)) return job;
    const parsed = jsonBody(req);
    if (!parsed.ok) return parsed.res;
    if (parsed.body.state !== 'Aborted' || !['UploadComplete', 'InProgress'].includes(job.info.state))
      return bulkError(400, 'INVALIDJOBSTATE', `InvalidJobState : Cannot change job ${job.info.id} from ${job.info.state} to ${String(parsed.body.state ?? '(none)')}`);
    job.info.state = 'Aborted';
    return { status: 200, body: job.info };
  };

  queryDelete: Handler = (req) => {
    const job = this.queryJob(req);
    if (!('info' in job)) return job;
    this.queryJobs.delete(job.info.id);
    return { status: 204 };
  };
}

function without(rec: SfRecord, key: string | undefined): SfRecord {
  if (!key) return rec;
  const { [key]: _drop, ...rest } = rec;
  return rest;
}

function csvValue(v: unknown): unknown {
  if (v === null || v === undefined) return '';
  return typeof v === 'boolean' ? (v ? 'true' : 'false') : v;
}
