/**
 * @module Overview: listeners, certificate and CRL expiry, upstreams and the last hour of traffic; the
 * traffic and status part is also served alone (`/live`) for the page's script to refresh.
 */
import { Hono } from 'hono';
import type { AdminEnv } from '../admin-env.js';
import { collectStatus } from '../api/status.js';
import type { ChartedPlane, TrafficInterval, TrafficReport, TrafficScope } from '../api/traffic.js';
import { type ConsoleOptions, renderPage } from './app.js';
import { BarChart, LineChart } from './charts.js';
import { Badge, consoleUrl, Notice, relative, TableBox, Time } from './layout.js';

/** How often the page's script fetches `/live`, ms. */
const REFRESH_MS = 5_000;
const HOUR_MS = 3_600_000;

const LISTENER_ROLES: Record<string, string> = {
  https: 'public, send and admin planes',
  admin: 'admin plane only (certificate required at the handshake)',
  http: 'redirects to HTTPS, ACME',
  metrics: 'Prometheus metrics',
};

/** Every charted plane and the class colouring its line. */
const PLANE_TONES: Readonly<Record<ChartedPlane, string>> = {
  public: 'tone-public',
  token: 'tone-token',
  admin: 'tone-admin',
};
const PLANES = Object.keys(PLANE_TONES) as ChartedPlane[];

/** One line per plane of `figure` for each interval. */
function planeLines(
  report: TrafficReport,
  figure: (interval: TrafficInterval, plane: ChartedPlane) => number | null,
) {
  return PLANES.map((plane) => ({
    label: plane,
    tone: PLANE_TONES[plane],
    values: report.intervals.map((interval) => figure(interval, plane)),
  }));
}

/** Whose traffic the charts show, said when it is not the whole gateway or when several workers add up. */
function ScopeNote({ scope }: { scope: TrafficScope }) {
  if (scope.kind === 'process') return null;
  if (scope.kind === 'worker')
    return (
      <Notice kind="warn">
        {`Worker ${scope.worker} only: the primary process did not answer, so the other workers' traffic is missing.`}
      </Notice>
    );
  if (scope.missing.length > 0)
    return (
      <Notice kind="warn">
        {`Worker ${scope.missing.join(', ')} did not answer in time: its last seconds are not counted (earlier intervals are).`}
      </Notice>
    );
  return <p class="muted">{`Summed over all ${scope.workers} worker processes.`}</p>;
}

/**
 * Each process's own figures, listed rather than summed: uptime and memory do not add up, and an
 * operator looks for the one worker that restarts or grows.
 */
function Processes({ report, now }: { report: TrafficReport; now: number }) {
  const workers = report.scope.kind !== 'process';
  const name = (worker: number | null) =>
    worker !== null ? `worker ${worker}` : workers ? 'primary (serves no request)' : 'gateway';
  return (
    <section aria-labelledby="processes-heading" class="card">
      <h2 id="processes-heading">Processes</h2>
      <TableBox
        label="Processes"
        columns={['Process', 'PID', 'Started', 'Memory (RSS)', 'Open connections', 'Requests in flight']}
      >
        {report.processes.map((process) => (
          <tr>
            <td>{name(process.worker)}</td>
            <td>{String(process.pid)}</td>
            <td>{relative(now - process.uptimeSeconds * 1000, now)}</td>
            <td>{`${Math.round(process.rssBytes / 1_048_576)} MB`}</td>
            <td>{String(process.connections)}</td>
            <td>{String(process.inFlight)}</td>
          </tr>
        ))}
        {report.scope.kind === 'workers' &&
          report.scope.missing.map((worker) => (
            <tr>
              <td>{`worker ${worker}`}</td>
              <td colspan={5}>did not answer in time (stopped, busy or restarting)</td>
            </tr>
          ))}
      </TableBox>
    </section>
  );
}

type Status = ReturnType<typeof collectStatus>;

/** An expiry with its badge: `expiring` within `warnDays`. */
function Expiry({
  label,
  notAfter,
  now,
  warnDays,
}: {
  label: string;
  notAfter: string | undefined;
  now: number;
  warnDays: number;
}) {
  if (!notAfter) {
    return (
      <div class="stat">
        <dt>{label}</dt>
        <dd>
          <Badge status="missing" />
        </dd>
      </div>
    );
  }
  const at = Date.parse(notAfter);
  const days = (at - now) / 86_400_000;
  const tone = days < 0 ? 'expired' : days < warnDays ? 'expiring' : 'valid';
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>
        <Badge status={tone} /> {relative(at, now)}
        <br />
        <small class="muted">
          <Time ms={at} />
        </small>
      </dd>
    </div>
  );
}

/** The refreshed part: expiry, certificate counts, upstreams, charts. */
function LiveStatus({ status, traffic, now }: { status: Status; traffic: TrafficReport; now: number }) {
  const axis = { at: traffic.intervals.map((interval) => interval.end), now, windowMs: HOUR_MS };
  return (
    <>
      <section aria-labelledby="expiry-heading" class="card">
        <h2 id="expiry-heading">Certificates and CRL</h2>
        <dl class="stats">
          <Expiry
            label="TLS certificate"
            notAfter={status.serverCertificate?.notAfter}
            now={now}
            warnDays={14}
          />
          <Expiry label="CA" notAfter={status.ca?.notAfter} now={now} warnDays={90} />
          {/* The gateway renews the CRL at half its life: under a day left means renewal is failing. */}
          <Expiry label="CRL next update" notAfter={status.crl?.nextUpdate} now={now} warnDays={1} />
          <div class="stat">
            <dt>Client certificates</dt>
            <dd>
              <a
                href={consoleUrl('/certificates?status=valid')}
              >{`${status.clientCertificates.valid} valid`}</a>
              {`, ${status.clientCertificates.revoked} revoked, ${status.clientCertificates.expiringSoon} expiring soon`}
            </dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="traffic-heading" class="card">
        <h2 id="traffic-heading">Traffic, last hour</h2>
        <ScopeNote scope={traffic.scope} />
        <div class="charts">
          <LineChart
            title="Requests per second"
            unit="req/s"
            axis={axis}
            lines={planeLines(traffic, (interval, plane) => interval.requests[plane] / interval.seconds)}
          />
          <LineChart
            title="Latency, 95th percentile"
            unit="ms"
            axis={axis}
            lines={planeLines(traffic, (interval, plane) => {
              // An interval without requests has no latency: the line breaks rather than drop to 0.
              const p95 = interval.latency[plane].p95;
              return p95 === null ? null : p95 * 1000;
            })}
          />
          <BarChart
            title="Denials"
            unit="denied requests"
            axis={axis}
            values={traffic.intervals.map((interval) => interval.denied)}
          />
        </div>
      </section>
      <Processes report={traffic} now={now} />
      <section aria-labelledby="upstreams-heading" class="card">
        <h2 id="upstreams-heading">Upstreams</h2>
        <ul class="plain">
          {status.upstreams.map((upstream) => (
            <li>
              <strong>{upstream.name}</strong>{' '}
              <Badge status={upstream.reachable === null ? 'unprobed' : upstream.reachable ? 'up' : 'down'} />
            </li>
          ))}
        </ul>
        <p class="muted">
          <small>{`Updated ${new Date(now).toISOString().slice(11, 19)} UTC`}</small>
        </p>
      </section>
    </>
  );
}

/** The route `/` (the page) and `/live` (its refreshed part). */
export function overviewRoutes(options: ConsoleOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const live = async () => {
    const now = Date.now();
    return <LiveStatus status={collectStatus(options, now)} traffic={await options.traffic()} now={now} />;
  };
  app.get('/', async (c) =>
    renderPage(
      c,
      { title: 'Overview', page: 'overview' },
      <>
        <section aria-labelledby="listeners-heading" class="card">
          <h2 id="listeners-heading">Listeners</h2>
          <TableBox label="Listeners" columns={['Listener', 'Address', 'Serves']}>
            {options.listeners().map((listener) => (
              <tr>
                <td>{listener.name}</td>
                <td>
                  <code>{`${listener.address}:${listener.port}`}</code>
                </td>
                <td>{LISTENER_ROLES[listener.name]}</td>
              </tr>
            ))}
          </TableBox>
        </section>
        <div data-live={consoleUrl('/live')} data-every={REFRESH_MS} aria-live="off">
          {await live()}
        </div>
      </>,
    ),
  );
  app.get('/live', async (c) => c.html(await live()));
  return app;
}
