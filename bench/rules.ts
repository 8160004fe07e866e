import { createServer } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { parseConfigYaml } from '../src/config-as-code/apply.service.ts';
import type { createMetricsModule } from '../src/telemetry/metrics/metrics.module.ts';
import { createTestApp } from '../test/helpers.ts';
import { findBinary, ProcessGroup, waitFor } from '../test/e2e/processes.ts';
import { quantile } from './load.ts';
import { printTextTable } from './output.ts';

/**
 * Rule evaluation lag: 1,000 alerting rules (100 groups × 10, interval 15 s) against a real Prometheus, evaluated
 * by Firewatch (SQLite, in-process, wall clock, the evaluator `serve` starts) and — side by side, the same rule
 * file — by that Prometheus itself.
 *   Firewatch lag = when a group's evaluation committed (state, history and any alerts into intake) − the slot it was
 *   scheduled for. Prometheus: its /api/v1/rules `evaluationTime` per group (it starts on its slot, so the time the
 *   evaluation took is its lag), sampled every 5 s for the same run.
 * Half the series are above the threshold, so ~500 alerts go pending and then fire into the intake (incidents).
 * BENCH_RULES_SECONDS (default 75) sets the run length.
 */

const RULES = Number(process.env.BENCH_RULES ?? 1000);
const PER_GROUP = 10;
const SERIES = 50;
const SECONDS = Number(process.env.BENCH_RULES_SECONDS ?? 75);

function ruleFile(): string {
  const groups: string[] = [];
  for (let g = 0; g < RULES / PER_GROUP; g++) {
    const rules: string[] = [];
    for (let r = 0; r < PER_GROUP; r++) {
      const n = g * PER_GROUP + r;
      rules.push(`      - alert: BenchRule${n}
        expr: fw_bench_value{idx="${n % SERIES}"} > ${(n % 7) / 10 + 0.2}
        for: 30s
        labels: { severity: warning, rule: "${n}" }
        annotations: { summary: 'bench {{ $labels.idx }} at {{ $value | humanize }}' }`);
    }
    groups.push(`  - name: bench-${g}\n    interval: 15s\n    rules:\n${rules.join('\n')}`);
  }
  return `groups:\n${groups.join('\n')}\n`;
}

const fmt = (v: number) => v.toFixed(1);
const q = (xs: number[], p: number) => (xs.length ? quantile(Float64Array.from(xs.toSorted((a, b) => a - b)), p) : Number.NaN);

async function main(): Promise<void> {
  const binary = findBinary(['prometheus'], 'PROMETHEUS_BIN');
  if (!binary) throw new Error('prometheus not installed (apt-get install prometheus, or set PROMETHEUS_BIN)');
  const values = Array.from({ length: SERIES }, (_, i) => ((i * 37) % 100) / 100);
  const exporter = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE fw_bench_value gauge\n${values.map((v, i) => `fw_bench_value{idx="${i}"} ${v}`).join('\n')}\n`);
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const address = exporter.address();
  const target = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const group = new ProcessGroup();
  const file = ruleFile();
  const prom = await group.prometheus(binary, `
global: { scrape_interval: 5s, evaluation_interval: 15s }
rule_files: [rules.yml]
scrape_configs:
  - job_name: bench
    static_configs: [{ targets: ['${target}'] }]
`, { 'rules.yml': file });
  const t = await createTestApp('sqlite');
  try {
    await waitFor('Prometheus scraped the exporter', async () => {
      const r = await (await fetch(`${prom.url}/api/v1/query?query=count(fw_bench_value)`)).json() as { data: { result: { value: [number, string] }[] } };
      return r.data.result[0]?.value[1] === String(SERIES);
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const groups = (parseYaml(file) as { groups: Record<string, unknown>[] }).groups.map((g) => ({ ...g, datasource: 'prom', service: 'bench' }));
    await t.features.apply.apply(parseConfigYaml(JSON.stringify({ services: [{ name: 'bench' }], datasources: [{ name: 'prom', type: 'prometheus', url: prom.url }], rules: groups })));
    const metrics = t.features.modules.find((m) => m.name === 'metrics') as ReturnType<typeof createMetricsModule>;
    console.log(`rules: ${RULES} rules in ${RULES / PER_GROUP} groups at 15 s, ${SECONDS} s run; Prometheus ${prom.url}`);
    metrics.rules.takeLagSamples();
    await metrics.start?.();
    const promSamples: number[] = [];
    const seen = new Set<string>();
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const body = await (await fetch(`${prom.url}/api/v1/rules`)).json() as { data: { groups: { name: string; evaluationTime: number; lastEvaluation: string }[] } };
      for (const g of body.data.groups) {
        const key = `${g.name}@${g.lastEvaluation}`;
        if (seen.has(key) || g.lastEvaluation.startsWith('0001')) continue;
        seen.add(key);
        promSamples.push(g.evaluationTime * 1000);
      }
    }
    await metrics.stop?.();
    // Let evaluations under way finish.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const fw = metrics.rules.takeLagSamples();
    const firing = (await metrics.rules.activeAlerts()).filter((a) => a.state === 'firing').length;
    const incidents = await t.handle.db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    console.log('');
    printTextTable([
      ['system', 'group evaluations', 'lag p50 ms', 'lag p99 ms', 'lag max ms'],
      ['firewatch (sqlite, via Prometheus query API)', String(fw.length), fmt(q(fw, 0.5)), fmt(q(fw, 0.99)), fmt(Math.max(...fw))],
      ['prometheus (own evaluator, evaluationTime)', String(promSamples.length), fmt(q(promSamples, 0.5)), fmt(q(promSamples, 0.99)), fmt(Math.max(...promSamples))],
    ]);
    console.log('');
    console.log(`Firewatch lag = commit time − scheduled slot (10 instant queries per group over HTTP, state and history written, alerts into intake). ${firing} alerts firing at the end, ${Number(incidents.n)} incidents opened.`);
    console.log('');
    console.log(`rules: rules=${RULES} eval_lag_p99_ms=${Math.round(q(fw, 0.99))}`);
  } finally {
    await t.close();
    await group.stop();
    exporter.closeAllConnections();
    exporter.close();
  }
}

await main();
