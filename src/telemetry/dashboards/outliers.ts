/**
 * Outlier detection across a service's instances over a window (docs/DECISIONS.md "Outliers"):
 * each instance is reduced to its window mean (its level) and its max − min (its amplitude); each
 * reduction is scored against the other instances with the robust z-score
 *     score = |x − median| / (1.4826 · MAD)
 * and an instance whose level or amplitude scores above OUTLIER_THRESHOLD is flagged.
 */

/** The robust z-score above which an instance is an outlier (≈ 3 standard deviations under normality). */
export const OUTLIER_THRESHOLD = 3;
/** Makes the MAD comparable to a standard deviation for normally distributed data. */
export const MAD_SCALE = 1.4826;
/** When more than half the instances are equal (MAD = 0), the mean absolute deviation × this stands in (Iglewicz–Hoaglin). */
export const MEAN_AD_SCALE = 1.253314;
/**
 * The scale is never below this fraction of |median|: an instance must differ from its peers' median by more than
 * threshold × 5 % (15 %) of the level to be flagged, so tightly clustered fleets (request rates within 1–2 %)
 * do not flag scrape jitter.
 */
export const RELATIVE_FLOOR = 0.05;
/** Fewer instances than this cannot have an outlier (two disagreeing instances: which one is odd?). */
export const MIN_INSTANCES = 3;

export interface InstanceStats {
  instance: string;
  /** Mean of the finite points in the window; null when it has none. */
  mean: number | null;
  min: number | null;
  max: number | null;
  /** max − min over the window. */
  amplitude: number | null;
  /** Robust z-score of the mean against the instances' means. */
  score: number;
  /** Robust z-score of the amplitude against the instances' amplitudes. */
  amplitude_score: number;
  outlier: boolean;
  /** Why it was flagged: its level (high or low) or its swing. */
  reason: 'high' | 'low' | 'amplitude' | null;
}

export interface OutlierAnalysis {
  method: 'mad';
  threshold: number;
  instances: InstanceStats[];
  /** The instance with the highest score among the flagged, or null. */
  top: { instance: string; score: number; reason: 'high' | 'low' | 'amplitude' } | null;
  /** max − min of the instances' means: how far apart the fleet is. */
  spread: number | null;
  /** Why no analysis could be made (too few instances), else null. */
  note: string | null;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = values.toSorted((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Robust scale of a sample: 1.4826 · MAD, else 1.2533 · mean absolute deviation, never below 5 % of |median|
 * nor below `minScale`.
 */
export function robustScale(values: number[], minScale = 0): { median: number; scale: number } {
  const m = median(values);
  const deviations = values.map((v) => Math.abs(v - m));
  const mad = median(deviations);
  let scale = MAD_SCALE * mad;
  if (scale === 0) scale = MEAN_AD_SCALE * (deviations.reduce((a, b) => a + b, 0) / deviations.length);
  scale = Math.max(scale, RELATIVE_FLOOR * Math.abs(m), minScale);
  return { median: m, scale };
}

/** Scores are capped here (an instance that differs from peers that are all exactly equal scores this). */
export const MAX_SCORE = 1000;
/** Above this many instances, each is scored against all (itself included) instead of the others only (O(n²)). */
const LEAVE_ONE_OUT_LIMIT = 500;

/**
 * Robust z-scores of `values`: each against the OTHER values' median and scale (leave-one-out, so one
 * wild instance cannot widen the scale it is judged by, and 3 instances suffice); 0 when all are equal.
 */
export function madScores(values: number[], minScale = 0): number[] {
  if (values.length === 0) return [];
  const all = values.length > LEAVE_ONE_OUT_LIMIT ? robustScale(values, minScale) : null;
  return values.map((v, i) => {
    const { median: m, scale } = all ?? robustScale(values.filter((_, j) => j !== i), minScale);
    const d = Math.abs(v - m);
    if (d === 0) return 0;
    return scale > 0 ? Math.min(MAX_SCORE, d / scale) : MAX_SCORE;
  });
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Scores every instance's window mean and amplitude against the others'. */
export function analyzeOutliers(series: { instance: string; points: [number, number][] }[], threshold = OUTLIER_THRESHOLD): OutlierAnalysis {
  const stats = series.map((s) => {
    const values = s.points.map((p) => p[1]).filter((v) => Number.isFinite(v));
    if (values.length === 0) return { instance: s.instance, mean: null, min: null, max: null, amplitude: null };
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of values) {
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { instance: s.instance, mean: sum / values.length, min, max, amplitude: max - min };
  });
  const usable = stats.filter((s) => s.mean !== null) as (typeof stats[number] & { mean: number; amplitude: number })[];
  const blank = (s: typeof stats[number]): InstanceStats => ({ ...s, score: 0, amplitude_score: 0, outlier: false, reason: null });
  if (usable.length < MIN_INSTANCES) {
    return { method: 'mad', threshold, instances: stats.map(blank), top: null, spread: null,
      note: `outlier detection needs at least ${MIN_INSTANCES} instances with data; this panel has ${usable.length}` };
  }
  const means = usable.map((s) => s.mean);
  const { median: m } = robustScale(means);
  const levelScores = madScores(means);
  // Swings are judged against the fleet's level too: when the peers are flat (amplitude 0, e.g. one point each
  // early in a window), a wobble of 0.1 % of the level is not an outlier, however small the peers' MAD.
  const ampScores = madScores(usable.map((s) => s.amplitude), RELATIVE_FLOOR * Math.abs(m));
  const byInstance = new Map<string, InstanceStats>();
  usable.forEach((s, i) => {
    const score = levelScores[i]!;
    // An instance swinging more than its peers is odd too; one swinging less is not worth a page.
    const ampHigh = s.amplitude > median(usable.map((u) => u.amplitude));
    const amplitudeScore = ampHigh ? ampScores[i]! : 0;
    const reason = score > threshold ? (s.mean >= m ? 'high' : 'low') : amplitudeScore > threshold ? 'amplitude' : null;
    byInstance.set(s.instance, { ...s, score: round(score), amplitude_score: round(amplitudeScore), outlier: reason !== null, reason });
  });
  const instances = stats.map((s) => byInstance.get(s.instance) ?? blank(s));
  let top: OutlierAnalysis['top'] = null;
  for (const s of instances) {
    if (!s.outlier) continue;
    const best = Math.max(s.score, s.amplitude_score);
    if (!top || best > top.score) top = { instance: s.instance, score: best, reason: s.reason! };
  }
  return { method: 'mad', threshold, instances, top, spread: Math.max(...means) - Math.min(...means), note: null };
}
