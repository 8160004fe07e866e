import type { NewLogLine } from './log.store.ts';

/**
 * The ingest buffer: lines from every receiver gather in memory for a few milliseconds and are written in
 * one transaction per batch (group commit), which is what makes tens of thousands of lines a second
 * possible on SQLite. The buffer is bounded: `offer` refuses lines above the high-water mark (UDP drops
 * them, TCP pauses its socket until `onDrain`), `write` waits for room and for the commit (HTTP answers
 * after its lines are stored).
 */
export interface LogIngest {
  /** Adds lines if there is room; false means the buffer is full (the caller pauses or drops). */
  offer(lines: NewLogLine[]): boolean;
  /** Adds lines whatever the fill (a TCP read already in hand); false means "pause the source until onDrain". */
  push(lines: NewLogLine[]): boolean;
  /** Adds lines, waiting for room; resolves once they are committed (rejects if their batch failed). */
  write(lines: NewLogLine[]): Promise<void>;
  /** Called once the buffer has room again after an `offer` was refused. */
  onDrain(listener: () => void): () => void;
  /** Writes everything buffered now. */
  flush(): Promise<void>;
  /** Lines waiting to be written. */
  readonly pending: number;
  close(): Promise<void>;
}

export interface IngestOptions {
  insert(lines: NewLogLine[]): Promise<void>;
  /** Lines per transaction at most. */
  batchLines?: number;
  /** How long the first line of a batch waits for company. */
  lingerMs?: number;
  /** Buffered lines at most (the high-water mark). */
  maxPending?: number;
  onCommitted?(count: number): void;
  onError?(error: unknown, count: number): void;
}

interface Waiter {
  upto: number;
  resolve(): void;
  reject(error: unknown): void;
}

export function createLogIngest(options: IngestOptions): LogIngest {
  const batchLines = options.batchLines ?? 10_000;
  const lingerMs = options.lingerMs ?? 5;
  const maxPending = options.maxPending ?? 200_000;
  let buffer: NewLogLine[] = [];
  /** Sequence numbers: lines ever accepted, and lines whose batch finished (committed or failed). */
  let accepted = 0;
  let finished = 0;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | null = null;
  let refused = false;
  let closed = false;
  const drainListeners = new Set<() => void>();
  const commitWaiters: Waiter[] = [];
  const roomWaiters: (() => void)[] = [];

  const schedule = () => {
    if (writing || timer || buffer.length === 0) return;
    if (buffer.length >= batchLines) {
      void run();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      void run();
    }, lingerMs);
  };

  const run = async (): Promise<void> => {
    if (writing) return writing;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buffer.length === 0) return;
    writing = (async () => {
      while (buffer.length > 0) {
        const batch = buffer.length > batchLines ? buffer.slice(0, batchLines) : buffer;
        buffer = buffer.length > batchLines ? buffer.slice(batchLines) : [];
        let failure: unknown = null;
        try {
          await options.insert(batch);
          options.onCommitted?.(batch.length);
        } catch (error) {
          failure = error;
          options.onError?.(error, batch.length);
        }
        finished += batch.length;
        for (let i = commitWaiters.length - 1; i >= 0; i--) {
          const w = commitWaiters[i];
          if (w.upto <= finished) {
            commitWaiters.splice(i, 1);
            if (failure) w.reject(failure);
            else w.resolve();
          }
        }
        if (buffer.length < maxPending / 2) {
          while (roomWaiters.length > 0 && buffer.length < maxPending) roomWaiters.shift()!();
          if (refused) {
            refused = false;
            for (const l of drainListeners) l();
          }
        }
        // Let receivers add to the next batch before writing it.
        if (buffer.length > 0 && buffer.length < batchLines) await new Promise((r) => setTimeout(r, lingerMs));
      }
    })().finally(() => {
      writing = null;
    });
    return writing;
  };

  const add = (lines: NewLogLine[]) => {
    for (const l of lines) buffer.push(l);
    accepted += lines.length;
    schedule();
    return accepted;
  };

  return {
    offer(lines) {
      if (closed || buffer.length + lines.length > maxPending) {
        refused = true;
        return false;
      }
      add(lines);
      return true;
    },
    push(lines) {
      if (closed) return false;
      add(lines);
      if (buffer.length >= maxPending) {
        refused = true;
        return false;
      }
      return true;
    },
    async write(lines) {
      if (closed) throw new Error('the log store is shutting down');
      while (buffer.length + lines.length > maxPending && buffer.length > 0) {
        await new Promise<void>((resolve) => roomWaiters.push(resolve));
      }
      const upto = add(lines);
      await new Promise<void>((resolve, reject) => commitWaiters.push({ upto, resolve, reject }));
    },
    onDrain(listener) {
      drainListeners.add(listener);
      return () => drainListeners.delete(listener);
    },
    async flush() {
      await run();
      if (writing) await writing;
    },
    get pending() {
      return buffer.length;
    },
    async close() {
      closed = true;
      await this.flush();
      while (roomWaiters.length > 0) roomWaiters.shift()!();
    },
  };
}
