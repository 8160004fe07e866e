/**
 * What every benchmark prints besides its figures: a live progress line on stderr (rewritten in place on a
 * terminal, at most every 2 s otherwise, so CI logs stay short) and a plain text table on stdout.
 */

/** Whether stderr is a terminal (progress is rewritten in place). */
export const tty = process.stderr.isTTY;
let lastPlainProgress = 0;

/** Shows `line` as the current progress; `force` writes it even within 2 s of the last plain-log line. */
export function progress(line: string, force = false): void {
  if (tty) {
    process.stderr.write(`\r\u001b[K${line}`);
  } else if (force || Date.now() - lastPlainProgress >= 2000) {
    lastPlainProgress = Date.now();
    process.stderr.write(`${line}\n`);
  }
}

/** Clears the progress line before results are printed. */
export function endProgress(): void {
  if (tty) process.stderr.write('\r\u001b[K');
}

/** A line of narration on stderr, below any progress line. */
export function say(line: string): void {
  endProgress();
  process.stderr.write(`${line}\n`);
}

/** A header row, a rule and the rows; the first column left-aligned, the others right-aligned. */
export function printTextTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const render = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(render(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(render(r));
}
