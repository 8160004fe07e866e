import { AppError } from '../../errors.ts';
import type { NewLogLine } from './log.store.ts';
import { severityNumber } from './log.query.ts';
import { MAX_LINE_BYTES, type SyslogMessage } from './syslog.parse.ts';

/** Decoding of the HTTP ingest formats: JSON lines and Loki's push API (JSON, and snappy-compressed protobuf). */

export const MAX_LINES_PER_REQUEST = 50_000;
const MAX_FIELD = 256;

const bad = (code: string, message: string) => new AppError(code, 400, message);

function field(value: unknown, name: string, where: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' && typeof value !== 'number') throw bad('invalid_log_line', `${where}: ${name} must be a string`);
  const s = String(value);
  if (s.length > MAX_FIELD) throw bad('invalid_log_line', `${where}: ${name} is longer than ${MAX_FIELD} characters`);
  return s;
}

/** A number or digit string as epoch seconds, ms, µs or ns (by magnitude); or an RFC 3339 string. */
export function parseTime(value: unknown, now: Date, where: string): string {
  if (value === undefined || value === null || value === '') return now.toISOString();
  let ms: number;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value))) {
    const n = Number(value);
    ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n < 1e17 ? n / 1000 : n / 1e6;
  } else if (typeof value === 'string') {
    ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  } else {
    throw bad('invalid_log_line', `${where}: time must be an RFC 3339 string or a Unix timestamp`);
  }
  const d = new Date(Math.floor(ms));
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970 || d.getUTCFullYear() > 9999) {
    throw bad('invalid_log_line', `${where}: time ${JSON.stringify(value)} is not a valid time`);
  }
  return d.toISOString();
}

function severity(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  return severityNumber(String(value)) ?? null;
}

const cut = (message: string) => (Buffer.byteLength(message) > MAX_LINE_BYTES ? Buffer.from(message).subarray(0, MAX_LINE_BYTES).toString('utf8') : message);

/**
 * JSON lines: one object per line with time|ts|timestamp, message|msg|line|log, host|hostname, app|application,
 * service, severity|level. A bad line fails the whole request (400, nothing stored) and names its line number.
 * A JSON array of such objects is accepted too.
 */
export function decodeJsonLines(body: string, now: Date): NewLogLine[] {
  const trimmed = body.trim();
  let objects: { value: unknown; where: string }[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw bad('invalid_json', `the body is not valid JSON: ${(error as Error).message}`);
    }
    objects = (parsed as unknown[]).map((value, i) => ({ value, where: `item ${i + 1}` }));
  } else {
    objects = [];
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i].trim();
      if (!text) continue;
      try {
        objects.push({ value: JSON.parse(text), where: `line ${i + 1}` });
      } catch (error) {
        throw bad('invalid_json', `line ${i + 1} is not valid JSON: ${(error as Error).message}`);
      }
    }
  }
  if (objects.length === 0) throw bad('no_log_lines', 'the body holds no log lines (send one JSON object per line)');
  if (objects.length > MAX_LINES_PER_REQUEST) throw bad('too_many_lines', `at most ${MAX_LINES_PER_REQUEST} lines per request`);
  return objects.map(({ value, where }) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad('invalid_log_line', `${where} must be a JSON object`);
    const o = value as Record<string, unknown>;
    const message = o.message ?? o.msg ?? o.line ?? o.log;
    if (typeof message !== 'string') throw bad('invalid_log_line', `${where}: message (or msg) must be a string`);
    return {
      time: parseTime(o.time ?? o.ts ?? o.timestamp ?? o['@timestamp'], now, where),
      host: field(o.host ?? o.hostname, 'host', where),
      app: field(o.app ?? o.application, 'app', where),
      service: field(o.service, 'service', where),
      sev: severity(o.severity ?? o.level),
      message: cut(message),
    };
  });
}

/** Our fields from a Loki stream's labels. */
function fromLabels(labels: Record<string, string>, where: string) {
  return {
    host: field(labels.host ?? labels.hostname ?? labels.instance, 'host', where),
    app: field(labels.app ?? labels.application ?? labels.job, 'app', where),
    service: field(labels.service ?? labels.service_name, 'service', where),
    sev: severity(labels.severity ?? labels.level ?? labels.detected_level),
  };
}

function checkCount(n: number) {
  if (n > MAX_LINES_PER_REQUEST) throw bad('too_many_lines', `at most ${MAX_LINES_PER_REQUEST} lines per request`);
}

/** Loki push, JSON: {"streams":[{"stream":{labels},"values":[["<unix ns>","line"(, metadata)]]}]}. */
export function decodeLokiJson(body: unknown, now: Date): NewLogLine[] {
  const streams = (body as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) throw bad('invalid_loki_push', 'the body must be {"streams": [...]}');
  const out: NewLogLine[] = [];
  streams.forEach((s: unknown, i) => {
    const where = `streams[${i}]`;
    const stream = (s as { stream?: unknown })?.stream ?? {};
    const values = (s as { values?: unknown })?.values;
    if (typeof stream !== 'object' || Array.isArray(stream) || !Array.isArray(values)) throw bad('invalid_loki_push', `${where} needs "stream" (labels) and "values"`);
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(stream as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
    const source = fromLabels(labels, where);
    values.forEach((v: unknown, j) => {
      if (!Array.isArray(v) || v.length < 2 || typeof v[1] !== 'string') throw bad('invalid_loki_push', `${where}.values[${j}] must be ["<unix ns>", "line"]`);
      out.push({ time: parseTime(v[0], now, `${where}.values[${j}]`), ...source, message: cut(v[1]) });
    });
    checkCount(out.length);
  });
  return out;
}

const snappyFail = () => bad('invalid_loki_push', 'the snappy data is malformed');

/** Snappy block format (what Loki's clients send): literals and back-references. */
export function snappyDecompress(input: Buffer, maxBytes: number): Buffer {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw bad('invalid_loki_push', 'the snappy header is malformed');
    const b = input[pos++];
    length |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  if (length > maxBytes) throw new AppError('payload_too_large', 413, `the uncompressed push is larger than ${maxBytes} bytes`);
  const out = Buffer.alloc(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    const type = tag & 3;
    if (type === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        if (pos + bytes > input.length) throw snappyFail();
        len = input.readUIntLE(pos, bytes);
        pos += bytes;
      }
      len += 1;
      if (pos + len > input.length || o + len > length) throw snappyFail();
      input.copy(out, o, pos, pos + len);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos >= input.length) throw snappyFail();
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos++];
    } else if (type === 2) {
      if (pos + 2 > input.length) throw snappyFail();
      len = (tag >> 2) + 1;
      offset = input.readUInt16LE(pos);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw snappyFail();
      len = (tag >> 2) + 1;
      offset = input.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw snappyFail();
    // Byte by byte: a copy may overlap its own output (run-length).
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset];
  }
  if (o !== length) throw snappyFail();
  return out;
}

/** Minimal protobuf reader for Loki's PushRequest (logproto): streams{labels, entries{timestamp{seconds,nanos}, line}}. */
class Proto {
  pos: number;
  readonly end: number;
  readonly buf: Buffer;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw bad('invalid_loki_push', 'the protobuf is truncated');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw bad('invalid_loki_push', 'a protobuf varint is too long');
  }
  /** Field number and wire type of the next key, or null at the end. */
  key(): { field: number; wire: number } | null {
    if (this.pos >= this.end) return null;
    const k = this.varint();
    return { field: Math.floor(k / 8), wire: k & 7 };
  }
  bytes(): Proto {
    const len = this.varint();
    if (this.pos + len > this.end) throw bad('invalid_loki_push', 'the protobuf is truncated');
    const sub = new Proto(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return sub;
  }
  text(): string {
    const sub = this.bytes();
    return this.buf.toString('utf8', sub.pos, sub.end);
  }
  skip(wire: number) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw bad('invalid_loki_push', `unsupported protobuf wire type ${wire}`);
  }
}

/** `{app="x", host="y"}` → labels. */
export function parsePromLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;
  for (const m of text.matchAll(re)) labels[m[1]] = m[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}

/** Loki push, protobuf (snappy-compressed, the default of Promtail, Alloy and the Docker driver). */
export function decodeLokiProtobuf(body: Buffer, now: Date, maxBytes: number): NewLogLine[] {
  const data = snappyDecompress(body, maxBytes);
  const out: NewLogLine[] = [];
  const root = new Proto(data);
  for (let k = root.key(); k; k = root.key()) {
    if (k.field !== 1 || k.wire !== 2) {
      root.skip(k.wire);
      continue;
    }
    const stream = root.bytes();
    let labels: Record<string, string> = {};
    const entries: { time: string; line: string }[] = [];
    for (let sk = stream.key(); sk; sk = stream.key()) {
      if (sk.field === 1 && sk.wire === 2) labels = parsePromLabels(stream.text());
      else if (sk.field === 2 && sk.wire === 2) {
        const entry = stream.bytes();
        let seconds = 0;
        let nanos = 0;
        let line = '';
        for (let ek = entry.key(); ek; ek = entry.key()) {
          if (ek.field === 1 && ek.wire === 2) {
            const ts = entry.bytes();
            for (let tk = ts.key(); tk; tk = ts.key()) {
              if (tk.field === 1 && tk.wire === 0) seconds = ts.varint();
              else if (tk.field === 2 && tk.wire === 0) nanos = ts.varint();
              else ts.skip(tk.wire);
            }
          } else if (ek.field === 2 && ek.wire === 2) line = entry.text();
          else entry.skip(ek.wire);
        }
        entries.push({ time: seconds ? new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString() : now.toISOString(), line });
      } else stream.skip(sk.wire);
    }
    const source = fromLabels(labels, `stream ${JSON.stringify(labels)}`);
    for (const e of entries) out.push({ time: e.time, ...source, message: cut(e.line) });
    checkCount(out.length);
  }
  return out;
}

/** A parsed syslog message as a stored line; `service` from structured data (any element's service=) or the resolver. */
export function fromSyslog(m: SyslogMessage, serviceFor: (app: string | null) => string | null): NewLogLine {
  let service: string | null = null;
  for (const params of Object.values(m.structured)) {
    if (params.service) {
      service = params.service.slice(0, MAX_FIELD);
      break;
    }
  }
  return {
    time: m.time,
    host: m.host?.slice(0, MAX_FIELD) ?? null,
    app: m.app?.slice(0, MAX_FIELD) ?? null,
    service: service ?? serviceFor(m.app),
    sev: m.severity,
    message: m.message,
  };
}
