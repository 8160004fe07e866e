/**
 * Syslog parsing: RFC 5424, RFC 3164 (BSD, with or without a year, rsyslog's RFC 3339 variant) and TCP framing
 * (RFC 6587 octet counting and LF-terminated lines). A line that fits neither format is kept whole as the
 * message (never dropped), with the sender's address as host and the arrival time.
 */

export const MAX_LINE_BYTES = 64 * 1024;

export interface SyslogMessage {
  time: string;
  host: string | null;
  app: string | null;
  procid: string | null;
  msgid: string | null;
  /** 0–7 from PRI; null for a line without PRI. */
  severity: number | null;
  facility: number | null;
  /** SD-ID → params (RFC 5424 structured data). */
  structured: Record<string, Record<string, string>>;
  message: string;
  /** False when the line was stored raw. */
  parsed: boolean;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };
const nil = (v: string | undefined) => (v === undefined || v === '-' || v === '' ? null : v);

/** Parses an RFC 3339 timestamp; null when it is not one (or is out of range). */
function rfc3339(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.test(value)) return null;
  // Date accepts at most ms precision; cut longer fractions.
  const trimmed = value.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(trimmed);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** RFC 5424 STRUCTURED-DATA at the start of `s`: the elements and the rest after them. */
function structuredData(s: string): { sd: Record<string, Record<string, string>>; rest: string } | null {
  const sd: Record<string, Record<string, string>> = {};
  if (s.startsWith('-')) return { sd, rest: s.slice(1) };
  let i = 0;
  if (s[i] !== '[') return null;
  while (s[i] === '[') {
    i++;
    const idEnd = s.slice(i).search(/[ \]]/);
    if (idEnd <= 0) return null;
    const id = s.slice(i, i + idEnd);
    i += idEnd;
    const params: Record<string, string> = {};
    while (s[i] === ' ') {
      i++;
      const eq = s.indexOf('=', i);
      if (eq < 0 || s[eq + 1] !== '"') return null;
      const name = s.slice(i, eq);
      i = eq + 2;
      let value = '';
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && /["\\\]]/.test(s[i + 1])) {
          value += s[i + 1];
          i += 2;
        } else {
          value += s[i++];
        }
      }
      if (s[i] !== '"') return null;
      i++;
      params[name] = value;
    }
    if (s[i] !== ']') return null;
    i++;
    sd[id] = { ...sd[id], ...params };
  }
  return { sd, rest: s.slice(i) };
}

/** `tag[pid]: msg` or `tag: msg` at the start of a BSD message. */
function bsdTag(s: string): { app: string; procid: string | null; message: string } | null {
  const m = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])?:\s?/.exec(s);
  if (!m) return null;
  return { app: m[1], procid: m[2] ?? null, message: s.slice(m[0].length) };
}

/** Year for a BSD timestamp without one: this year, or last year if that would be more than a day ahead. */
function bsdTime(month: number, day: number, hh: number, mm: number, ss: number, year: number | null, now: Date): string | null {
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return null;
  let y = year ?? now.getFullYear();
  // No zone in BSD timestamps: they are read in this server's time zone (TZ).
  let d = new Date(y, month, day, hh, mm, Math.min(ss, 59));
  if (year === null && d.getTime() > now.getTime() + 86_400_000) {
    y--;
    d = new Date(y, month, day, hh, mm, Math.min(ss, 59));
  }
  // `new Date` rolls impossible days over (Feb 30 → Mar 2): such a timestamp is not one.
  if (Number.isNaN(d.getTime()) || d.getMonth() !== month || d.getDate() !== day) return null;
  return d.toISOString();
}

/** Parses one syslog line (framing removed). `peer` is the sender's address, used when the line names no host. */
export function parseSyslog(line: string, peer: string | null, now: Date): SyslogMessage {
  const text = line.replace(/[\r\n\0]+$/, '');
  const raw: SyslogMessage = {
    time: now.toISOString(), host: peer, app: null, procid: null, msgid: null, severity: null, facility: null, structured: {}, message: text, parsed: false,
  };
  const pri = /^<(\d{1,3})>/.exec(text);
  if (!pri || Number(pri[1]) > 191) return raw;
  const value = Number(pri[1]);
  const base = { ...raw, severity: value & 7, facility: value >> 3 };
  const rest = text.slice(pri[0].length);

  // RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
  const v1 = /^([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(rest);
  if (v1) {
    const time = v1[2] === '-' ? now.toISOString() : rfc3339(v1[2]);
    const sd = structuredData(rest.slice(v1[0].length));
    if (time && sd) {
      let message = sd.rest.startsWith(' ') ? sd.rest.slice(1) : sd.rest;
      if (message.startsWith('\uFEFF')) message = message.slice(1);
      return {
        ...base, time, host: nil(v1[3]) ?? peer, app: nil(v1[4]), procid: nil(v1[5]), msgid: nil(v1[6]), structured: sd.sd, message, parsed: true,
      };
    }
  }
  const v1NoMsg = /^([1-9]\d{0,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*\])$/.exec(rest);
  if (v1NoMsg) {
    const time = v1NoMsg[2] === '-' ? now.toISOString() : rfc3339(v1NoMsg[2]);
    const sd = structuredData(v1NoMsg[7]);
    if (time && sd) {
      return { ...base, time, host: nil(v1NoMsg[3]) ?? peer, app: nil(v1NoMsg[4]), procid: nil(v1NoMsg[5]), msgid: nil(v1NoMsg[6]), structured: sd.sd, message: '', parsed: true };
    }
  }

  // BSD (RFC 3164): TIMESTAMP [HOSTNAME] TAG: MSG, where TIMESTAMP is "Mmm dd hh:mm:ss", with an optional
  // year ("Mmm dd yyyy hh:mm:ss" or "Mmm dd hh:mm:ss yyyy"), or RFC 3339 (rsyslog's forward format).
  let time: string | null = null;
  let after = '';
  const bsd = /^([A-Za-z]{3}) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?: (\d{4}))?(?: |$)/.exec(rest);
  if (bsd && MONTHS[bsd[1].toLowerCase()] !== undefined) {
    const year = bsd[3] ?? bsd[7];
    time = bsdTime(MONTHS[bsd[1].toLowerCase()], Number(bsd[2]), Number(bsd[4]), Number(bsd[5]), Number(bsd[6]), year ? Number(year) : null, now);
    after = rest.slice(bsd[0].length);
  } else {
    const iso = /^(\S+) /.exec(rest);
    if (iso) {
      time = rfc3339(iso[1]);
      after = rest.slice(iso[0].length);
    }
  }
  if (!time) {
    // PRI without a timestamp: RFC 3164 says take it as the message.
    const tag = bsdTag(rest);
    return tag ? { ...base, app: tag.app, procid: tag.procid, message: tag.message, parsed: true } : { ...base, message: rest };
  }
  // The host is optional: a first word that is already a tag ("sshd[12]:") means there is none.
  const firstWord = /^\S*/.exec(after)![0];
  if (firstWord.endsWith(':')) {
    const direct = bsdTag(after);
    if (direct) return { ...base, time, app: direct.app, procid: direct.procid, message: direct.message, parsed: true };
  }
  const hostMatch = /^(\S+) ?/.exec(after);
  const host = hostMatch ? hostMatch[1] : null;
  const body = hostMatch ? after.slice(hostMatch[0].length) : after;
  const tag = bsdTag(body);
  if (tag) return { ...base, time, host: host ?? peer, app: tag.app, procid: tag.procid, message: tag.message, parsed: true };
  return { ...base, time, host: host ?? peer, message: body, parsed: true };
}

/**
 * TCP framing (RFC 6587): each frame is either octet-counted ("123 <34>1 …") or ends at LF. Feed chunks;
 * complete frames come out. Frames longer than `maxBytes` are cut to it (the rest is skipped).
 */
export class SyslogFramer {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of an over-long frame still to skip (octet counting), or -1 to skip to the next LF. */
  private skip = 0;
  private readonly maxBytes: number;

  constructor(maxBytes = MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) break;
      }
      if (this.skip === -1) {
        const lf = buf.indexOf(10, pos);
        if (lf < 0) {
          pos = buf.length;
          break;
        }
        pos = lf + 1;
        this.skip = 0;
      }
      if (pos >= buf.length) break;
      const first = buf[pos];
      if (first === 10 || first === 13 || first === 0) {
        pos++;
        continue;
      }
      if (first >= 0x30 && first <= 0x39) {
        // Octet counting: digits, a space, then that many bytes.
        let i = pos;
        while (i < buf.length && i - pos < 10 && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
        if (i + 1 >= buf.length) break;
        // A count is digits, a space and then a syslog message ("<PRI>"); anything else is a plain line.
        if (buf[i] === 0x20 && i > pos && buf[i + 1] === 0x3c) {
          const count = Number(buf.toString('latin1', pos, i));
          const start = i + 1;
          if (count <= this.maxBytes) {
            if (buf.length - start < count) break;
            out.push(buf.toString('utf8', start, start + count));
            pos = start + count;
          } else {
            // Keep the first maxBytes once they are here, then skip the rest.
            if (buf.length - start < this.maxBytes) break;
            out.push(buf.toString('utf8', start, start + this.maxBytes));
            pos = start + this.maxBytes;
            this.skip = count - this.maxBytes;
          }
          continue;
        }
        // Not a count ("2026-… message"): an LF-framed line.
      }
      const lf = buf.indexOf(10, pos);
      if (lf < 0) {
        if (buf.length - pos >= this.maxBytes) {
          out.push(buf.toString('utf8', pos, pos + this.maxBytes));
          pos = buf.length;
          this.skip = -1;
        }
        break;
      }
      const end = lf - pos > this.maxBytes ? pos + this.maxBytes : lf;
      out.push(buf.toString('utf8', pos, end).replace(/\r$/, ''));
      pos = lf + 1;
    }
    this.pending = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    buf = Buffer.alloc(0);
    return out;
  }

  /** What is left when the connection closes (a last line without LF). */
  end(): string[] {
    const rest = this.pending.length && this.skip === 0 ? [this.pending.toString('utf8').replace(/[\r\n]+$/, '')] : [];
    this.pending = Buffer.alloc(0);
    return rest.filter((l) => l.length > 0);
  }
}
