/**
 * @module Small server-rendered SVG charts for the overview (no script, no inline style: the CSP allows
 * neither). Pure functions of the numbers: the scale and the path are computed here, colours come from
 * the stylesheet's classes.
 */

const WIDTH = 600;
const HEIGHT = 120;

export interface ChartLine {
  label: string;
  /** A CSS class giving the stroke and the legend colour. */
  tone: string;
  /** One per `axis.at`; null where there is no figure (a latency without requests): the line breaks there. */
  values: readonly (number | null)[];
}

/** The top of the y axis: the largest value rounded up to 1, 2 or 5 times a power of ten (at least 1). */
export function niceMaximum(values: readonly (number | null)[]): number {
  const largest = Math.max(0, ...(values.filter((value) => Number.isFinite(value)) as number[]));
  if (largest <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(largest));
  for (const step of [1, 2, 5, 10]) if (largest <= step * power) return step * power;
  return 10 * power;
}

/** The time axis: `at` (epoch ms) within the window ending `now`, as x on the canvas (0 = window start). */
export interface TimeAxis {
  at: readonly number[];
  now: number;
  windowMs: number;
}

const xOf = ({ now, windowMs }: TimeAxis, at: number) =>
  Math.min(WIDTH, Math.max(0, WIDTH - ((now - at) / windowMs) * WIDTH));

/** The SVG polyline points of `values` (one per `axis.at`) on a WIDTH x HEIGHT canvas scaled to `maximum`. */
export function linePoints(axis: TimeAxis, values: readonly number[], maximum: number): string {
  return values
    .map(
      (value, i) =>
        `${round(xOf(axis, axis.at[i]!))},${round(HEIGHT - (Math.max(0, value) / maximum) * HEIGHT)}`,
    )
    .join(' ');
}

/** The polyline points of each run of `values` without a null, in order. */
export function lineSegments(axis: TimeAxis, values: readonly (number | null)[], maximum: number): string[] {
  const segments: string[] = [];
  let from = 0;
  for (let i = 0; i <= values.length; i++) {
    if (i < values.length && values[i] !== null) continue;
    if (i > from) {
      const run = values.slice(from, i) as number[];
      segments.push(linePoints({ ...axis, at: axis.at.slice(from, i) }, run, maximum));
    }
    from = i + 1;
  }
  return segments;
}

/** The latest figure of a line as the legend says it: a dash when it has none. */
const latest = (values: readonly (number | null)[]) => {
  const value = values.at(-1);
  return value === null ? '–' : formatRate(value ?? 0);
};

const round = (n: number) => Math.round(n * 10) / 10;

/** Human figures: 0, 0.25, 3.4, 12, 1.2k. */
export function formatRate(value: number): string {
  if (value >= 1000) return `${round(value / 1000)}k`;
  if (value >= 10) return String(Math.round(value));
  return String(Math.round(value * 100) / 100);
}

/** A line chart with a legend naming each line's latest value; the label describes it for screen readers. */
export function LineChart({
  title,
  unit,
  axis,
  lines,
}: {
  title: string;
  unit: string;
  axis: TimeAxis;
  lines: readonly ChartLine[];
}) {
  const maximum = niceMaximum(lines.flatMap((line) => line.values));
  const points = Math.max(0, ...lines.map((line) => line.values.length));
  const summary = lines.map((line) => `${line.label} ${latest(line.values)} ${unit}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="chart-scale">{`max ${formatRate(maximum)} ${unit}`}</span>
      </figcaption>
      {points < 2 ? (
        <p class="chart-empty">Collecting data: the first figures appear within a minute.</p>
      ) : (
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${title}, last hour; now: ${summary}`}
        >
          <line class="gridline" x1="0" y1={HEIGHT / 2} x2={WIDTH} y2={HEIGHT / 2} />
          <line class="gridline" x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
          {lines.flatMap((line) =>
            lineSegments(axis, line.values, maximum).map((points) => (
              <polyline class={`line ${line.tone}`} points={points} />
            )),
          )}
        </svg>
      )}
      <TimeLabels />
      <ul class="legend">
        {lines.map((line) => (
          <li>
            <span class={`swatch ${line.tone}`} aria-hidden="true" />
            {`${line.label}: ${latest(line.values)} ${unit}`}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** A bar chart of counts per interval (denials), each bar ending at its interval's end. */
export function BarChart({
  title,
  unit,
  axis,
  values,
}: {
  title: string;
  unit: string;
  axis: TimeAxis;
  values: readonly number[];
}) {
  const maximum = niceMaximum(values);
  const total = values.reduce((sum, value) => sum + value, 0);
  const barStart = (i: number) => xOf(axis, i > 0 ? axis.at[i - 1]! : axis.at[i]! - 10_000);
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{title}</span>
        <span class="chart-scale">{`${total} in the last hour`}</span>
      </figcaption>
      {values.length < 1 ? (
        <p class="chart-empty">Collecting data: the first figures appear within a minute.</p>
      ) : (
        <svg
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${title}, last hour: ${total} ${unit}`}
        >
          <line class="gridline" x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} />
          {values.map((value, i) =>
            value > 0 ? (
              <rect
                class="bar"
                x={round(barStart(i))}
                y={round(HEIGHT - (value / maximum) * HEIGHT)}
                width={round(Math.max(2, xOf(axis, axis.at[i]!) - barStart(i)))}
                height={round((value / maximum) * HEIGHT)}
              />
            ) : null,
          )}
        </svg>
      )}
      <TimeLabels />
    </figure>
  );
}

/** The ends of the time axis. */
function TimeLabels() {
  return (
    <p class="chart-axis" aria-hidden="true">
      <span>60 min ago</span>
      <span>now</span>
    </p>
  );
}
