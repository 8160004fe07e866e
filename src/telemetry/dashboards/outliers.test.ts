import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeOutliers, madScores, median } from './outliers.ts';

const flat = (instance: string, values: number[]) => ({ instance, points: values.map((v, i) => [i * 15, v] as [number, number]) });

describe('outliers (MAD across instances)', () => {
  test('median and scores: |x − median| / (1.4826 · MAD)', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    // 20 against the others 9, 10, 11: median 10, MAD 1 → 10 / 1.4826.
    const scores = madScores([9, 10, 11, 20]);
    assert.ok(Math.abs(scores[3]! - 10 / 1.4826) < 1e-9);
    // 10 against 9, 11, 20: median 11, MAD 2 → 1 / 2.9652.
    assert.ok(Math.abs(scores[1]! - 1 / (2 * 1.4826)) < 1e-9);
    // Three instances are enough: one far from two close ones.
    assert.ok(madScores([10, 10.5, 50])[2]! > 3);
    assert.ok(madScores([10, 10.5, 50])[0]! < 3);
  });

  test('the drifting instance is named with its score; the others are not flagged', () => {
    const a = analyzeOutliers([flat('a:1', [10, 11, 10]), flat('b:1', [10, 10, 11]), flat('c:1', [11, 10, 10]), flat('d:1', [40, 45, 50])]);
    assert.equal(a.top?.instance, 'd:1');
    assert.equal(a.top?.reason, 'high');
    assert.ok(a.top!.score > 3);
    assert.deepEqual(a.instances.filter((i) => i.outlier).map((i) => i.instance), ['d:1']);
  });

  test('a low instance is flagged low; a swinging one by amplitude', () => {
    assert.equal(analyzeOutliers([flat('a', [100]), flat('b', [101]), flat('c', [99]), flat('d', [100]), flat('e', [20])]).top?.reason, 'low');
    const swing = analyzeOutliers([flat('a', [50, 51, 50]), flat('b', [50, 49, 50]), flat('c', [50, 50, 51]), flat('d', [0, 100, 50])]);
    assert.equal(swing.top?.instance, 'd');
    assert.equal(swing.top?.reason, 'amplitude');
  });

  test('no outlier among a healthy fleet, among equal ones, or with fewer than 3 instances', () => {
    assert.equal(analyzeOutliers([flat('a', [10, 12]), flat('b', [11, 13]), flat('c', [12, 10]), flat('d', [13, 11])]).top, null);
    assert.equal(analyzeOutliers([flat('a', [5]), flat('b', [5]), flat('c', [5])]).top, null);
    // Differences below 3 × 5 % of the level are noise, however tight the others are.
    assert.equal(analyzeOutliers([flat('a', [1000]), flat('b', [1001]), flat('c', [1000]), flat('d', [1140])]).top, null);
    assert.equal(analyzeOutliers([flat('a', [1000]), flat('b', [1001]), flat('c', [1000]), flat('d', [1160])]).top?.instance, 'd');
    const two = analyzeOutliers([flat('a', [1]), flat('b', [100])]);
    assert.equal(two.top, null);
    assert.match(two.note ?? '', /at least 3/);
  });

  test('MAD of 0 (most instances equal) still names the one that differs; NaN points are ignored', () => {
    const a = analyzeOutliers([flat('a', [1, Number.NaN]), flat('b', [1]), flat('c', [1]), flat('d', [10])]);
    assert.equal(a.top?.instance, 'd');
    const empty = analyzeOutliers([flat('a', [1]), flat('b', [1]), flat('c', [1]), flat('x', [Number.NaN])]);
    assert.equal(empty.instances.find((i) => i.instance === 'x')?.mean, null);
  });

  test('a tiny wobble among flat peers is not an outlier; the instance far above them is (early in a window)', () => {
    // Right after a scrape starts most instances have one point (amplitude 0); one healthy instance has two points
    // 0.0004 s apart. Its swing is 0.4 % of the level: not a swing worth naming, while the slow instance is.
    const early = analyzeOutliers([flat('a', [0.0958, 0.0962]), flat('b', [0.0963]), flat('c', [2.1]), flat('d', [0.0971])]);
    assert.equal(early.top?.instance, 'c');
    assert.equal(early.instances.find((i) => i.instance === 'a')?.outlier, false);
    // A real swing among flat peers is still flagged by amplitude.
    const swing = analyzeOutliers([flat('a', [0.05, 0.15]), flat('b', [0.1]), flat('c', [0.1]), flat('d', [0.1])]);
    assert.equal(swing.top?.instance, 'a');
    assert.equal(swing.top?.reason, 'amplitude');
  });
});
