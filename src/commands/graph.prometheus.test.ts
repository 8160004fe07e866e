import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { createTestApp, DIALECTS, type TestApp } from '../../test/helpers.ts';
import { findBinary, ProcessGroup, type ServiceProcess, waitFor } from '../../test/e2e/processes.ts';
import { parseConfigYaml } from '../config-as-code/apply.service.ts';

/** /graph against a real Prometheus scraping two targets: the PNG has both series; PromQL errors come back as replies. */

const PROMETHEUS = findBinary(['prometheus'], 'PROMETHEUS_BIN');
const skip = PROMETHEUS ? false : 'skipped: prometheus not installed (apt-get install prometheus, or set PROMETHEUS_BIN)';
if (skip) process.stderr.write(`${skip}\n`);

function target(value: () => number) {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# TYPE fw_graph_value gauge\nfw_graph_value ${value()}\n`);
  });
  return {
    server,
    listen: () => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
    get instance() {
      const a = server.address();
      return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('/graph against a real Prometheus', { skip }, () => {
  const group = new ProcessGroup();
  let n = 0;
  const a = target(() => Math.sin(n++ / 3) * 10);
  const b = target(() => 42);
  let prom: ServiceProcess;

  before(async () => {
    await Promise.all([a.listen(), b.listen()]);
    prom = await group.prometheus(PROMETHEUS!, `
global: { scrape_interval: 1s, scrape_timeout: 900ms }
scrape_configs:
  - job_name: fw-graph
    static_configs: [{ targets: ['${a.instance}', '${b.instance}'] }]
`);
    await waitFor('both targets scraped a few times', async () => {
      const r = await (await fetch(`${prom.url}/api/v1/query?query=count_over_time(fw_graph_value[1m])`)).json() as { data: { result: { value: [number, string] }[] } };
      return r.data.result.length === 2 && r.data.result.every((s) => Number(s.value[1]) >= 3);
    }, { timeoutMs: 30_000, intervalMs: 250, detail: () => group.logs() });
  });
  after(async () => {
    await group.stop();
    await Promise.allSettled([a.close(), b.close()]);
  });

  for (const dialect of DIALECTS) {
    describe(dialect, () => {
      let t: TestApp;
      before(async () => {
        t = await createTestApp(dialect);
        await t.features.apply.apply(parseConfigYaml(`datasources:
  - name: prom
    type: prometheus
    url: ${prom.url}
    default: true
`));
      });
      after(() => t.close());

      test('a PromQL range becomes a PNG with one line per series, linked to the explore view', async () => {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/commands', headers: t.auth('viewer'), payload: { line: '/graph fw_graph_value{job="fw-graph"} 5m --step 1s' } });
        assert.equal(res.statusCode, 200, res.body);
        const { data, files } = res.json();
        assert.equal(data.datasource, 'prom');
        assert.equal(data.series, 2);
        assert.ok(data.points >= 4, `points: ${data.points}`);
        assert.equal(new URL(data.link).searchParams.get('query'), 'fw_graph_value{job="fw-graph"}');
        const file = await t.app.inject({ method: 'GET', url: `/api/v1/files/${files[0].id}`, headers: t.auth('viewer') });
        assert.equal(file.statusCode, 200);
        const png = file.rawPayload;
        assert.equal(png.toString('latin1', 1, 4), 'PNG');
        assert.ok(png.readUInt32BE(16) >= 800, 'width');
        // Not blank: the pixel stream of a white picture would compress to almost nothing.
        const at = png.indexOf('IDAT');
        const compressed = png.readUInt32BE(at - 4);
        const pixels = inflateSync(png.subarray(at + 4, at + 4 + compressed));
        assert.ok(compressed > 5000, `image data ${compressed} bytes compressed, ${pixels.length} raw`);
      });

      test('a PromQL syntax error is the reply, with Prometheus\' message', async () => {
        const res = await t.app.inject({ method: 'POST', url: '/api/v1/commands', headers: t.auth('viewer'), payload: { line: '/graph rate(fw_graph_value[1m] 5m' } });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().error.code, 'bad_query');
        assert.match(res.json().error.message, /`\/graph` failed: .*(parse|unclosed|unexpected)/i);
      });
    });
  }
});
