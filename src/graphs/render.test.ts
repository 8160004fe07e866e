import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { Series } from '../telemetry/metrics/datasource.types.ts';
import { chartVegaLite, MAX_SERIES, renderChartPng, renderChartSvg, seriesName } from './render.ts';

const TO = 1_790_000_000;
const FROM = TO - 3600;

/** Reads a PNG's header and pixel stream: dimensions, and the inflated scanlines (filter bytes included). */
function decodePng(png: Buffer): { width: number; height: number; colorType: number; raw: Buffer } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.toString('latin1', 12, 16), 'IHDR', 'the first chunk is IHDR');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const colorType = png[25];
  const idat: Buffer[] = [];
  let offset = 8;
  let sawEnd = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT') idat.push(png.subarray(offset + 8, offset + 8 + length));
    if (type === 'IEND') sawEnd = true;
    offset += 12 + length;
  }
  assert.ok(sawEnd, 'the PNG ends with IEND');
  return { width, height, colorType, raw: inflateSync(Buffer.concat(idat)) };
}

/** How many distinct RGB colours the image has (scanline filters undone for the simple cases resvg writes). */
function distinctColours(png: Buffer): number {
  const { width, height, colorType, raw } = decodePng(png);
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 1;
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  const colours = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels] : 0;
      const b = prev[x];
      const c = x >= channels ? prev[x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = v & 0xff;
    }
    for (let x = 0; x < width; x++) colours.add((cur[x * channels] << 16) | (cur[x * channels + 1] << 8) | cur[x * channels + 2]);
    cur.copy(prev);
  }
  return colours.size;
}

const wave = (instance: string, phase: number, scale = 1): Series => ({
  labels: { __name__: 'http_requests', instance },
  points: Array.from({ length: 61 }, (_, k) => [FROM + k * 60, scale * (10 + 5 * Math.sin(k / 6 + phase))] as [number, number]),
});

describe('chart renderer', () => {
  test('series names are Prometheus label text', () => {
    assert.equal(seriesName({ __name__: 'up', job: 'api', instance: 'a:1' }), 'up{instance="a:1", job="api"}');
    assert.equal(seriesName({ job: 'api' }), '{job="api"}');
    assert.equal(seriesName({ __name__: 'up' }), 'up');
    assert.equal(seriesName({}), '{}');
  });

  test('a multi-series chart is a valid PNG of the requested size, with text and many colours', async () => {
    const png = await renderChartPng({ title: 'rate(http_requests_total[5m])', series: [wave('a', 0), wave('b', 2)], from: FROM, to: TO, unit: 'req/s', width: 640, height: 300 });
    const { width, height } = decodePng(png);
    // The chart area is as requested; title, axes and legend add to it.
    assert.ok(width >= 640 && width < 900, `width ${width}`);
    assert.ok(height >= 300 && height < 600, `height ${height}`);
    assert.ok(distinctColours(png) > 20, 'not a blank image: lines, text and anti-aliasing');
    const svg = await renderChartSvg({ title: 'rate(http_requests_total[5m])', series: [wave('a', 0), wave('b', 2)], from: FROM, to: TO, unit: 'req/s' });
    assert.match(svg, /rate\(http_requests_total\[5m\]\)/, 'the title is drawn');
    assert.match(svg, /req\/s/, 'the unit labels the axis');
    assert.match(svg, /http_requests\{instance=&quot;a&quot;\}|http_requests\{instance="a"\}/, 'the legend names each series');
    assert.match(svg, />\d\d:\d\d</, 'the time axis has 24-hour UTC labels');
  });

  test('different data draws a different picture', async () => {
    const a = await renderChartPng({ title: 'x', series: [wave('a', 0)], from: FROM, to: TO });
    const b = await renderChartPng({ title: 'x', series: [wave('a', 3, 4)], from: FROM, to: TO });
    assert.notDeepEqual(decodePng(a).raw, decodePng(b).raw);
  });

  test('an empty result is a "no data" image, not an error', async () => {
    const png = await renderChartPng({ title: 'nothing here', series: [], from: FROM, to: TO });
    // Only text is drawn (besides a one-colour frame): anti-aliased glyphs give many shades, so fonts were found.
    assert.ok(distinctColours(png) > 10, `text is rendered (${distinctColours(png)} colours)`);
    const svg = await renderChartSvg({ title: 'nothing here', series: [], from: FROM, to: TO });
    assert.match(svg, /No data/);
    const allNaN = await renderChartSvg({ title: 'x', series: [{ labels: { a: '1' }, points: [[FROM, Number.NaN], [TO, Number.NaN]] }], from: FROM, to: TO });
    assert.match(allNaN, /No data/);
  });

  test('NaN and missing steps break the line instead of joining across the gap', () => {
    const s = wave('a', 0);
    s.points[10][1] = Number.NaN;
    s.points.splice(30, 5);
    const spec = chartVegaLite({ title: 'x', series: [s], from: FROM, to: TO }) as { data: { values: { v: number | null }[] } };
    const nulls = spec.data.values.filter((r) => r.v === null).length;
    assert.equal(nulls, 2, 'one null for the NaN, one for the missing steps');
  });

  test('more than ten series: the highest nine plus "others"; highlighted series are kept, red and thicker', () => {
    const many = Array.from({ length: 25 }, (_, i) => wave(`h${i}`, i, 1 + i / 10));
    const hot = seriesName(many[0].labels);
    const spec = chartVegaLite({ title: 'x', series: many, from: FROM, to: TO, highlight: [hot] }) as {
      data: { values: { s: string; w: number }[] };
      encoding: { color: { scale: { domain: string[]; range: string[] } } };
    };
    const { domain, range } = spec.encoding.color.scale;
    assert.equal(domain.length, MAX_SERIES);
    assert.equal(domain[0], hot, 'the highlighted series is kept although its peak is the lowest');
    assert.equal(range[0], '#d62728');
    assert.equal(domain.at(-1), 'others (max of 16)');
    assert.ok(domain.includes(seriesName(many[24].labels)), 'the highest peak is kept');
    assert.ok(spec.data.values.filter((r) => r.s === hot).every((r) => r.w > 3));
    assert.ok(spec.data.values.filter((r) => r.s !== hot).every((r) => r.w < 2));
  });

  test('long series are reduced to a min/max per bucket: few points, spikes kept, fast', async () => {
    const to = TO;
    const from = to - 11_000 * 15;
    const points = Array.from({ length: 11_000 }, (_, k) => [from + k * 15, k === 5_555 ? 1000 : Math.sin(k / 40)] as [number, number]);
    const spec = chartVegaLite({ title: 'x', series: [{ labels: { a: '1' }, points }], from, to }) as { data: { values: { v: number | null }[] } };
    assert.ok(spec.data.values.length <= 2000, `${spec.data.values.length} points drawn`);
    assert.ok(spec.data.values.some((r) => r.v === 1000), 'the one-sample spike is still drawn');
    const many = Array.from({ length: 30 }, (_, i) => ({ labels: { i: String(i) }, points: points.map(([t, v]) => [t, v + i] as [number, number]) }));
    const started = performance.now();
    decodePng(await renderChartPng({ title: 'x', series: many, from, to }));
    assert.ok(performance.now() - started < 5000, 'thirty series of 11,000 points render in seconds');
  });

  test('concurrent renders all finish (two at a time)', async () => {
    const all = await Promise.all(Array.from({ length: 5 }, (_, i) => renderChartPng({ title: `c${i}`, series: [wave('a', i)], from: FROM, to: TO })));
    for (const png of all) decodePng(png);
  });

  test('a range that ends before it starts is refused', async () => {
    await assert.rejects(renderChartPng({ title: 'x', series: [], from: TO, to: FROM }), /end after it starts/);
  });
});
