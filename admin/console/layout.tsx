/**
 * @module The console's page frame and the small pieces every page shares: navigation, notices, the
 * "your role cannot do this" note, forms' field rows, and time and size formatting.
 */
import type { Child, PropsWithChildren } from 'hono/jsx';
import type { AdminRole } from '../admin-policy.js';

/** Where the console is served; the admin API stays under `${CONSOLE_BASE}/api`. */
export const CONSOLE_BASE = '/_mailgate/admin';
/** Bumped with the assets' contents, so a cached old script never runs against new pages. */
export const ASSET_VERSION = '1';

export type ConsolePage = 'overview' | 'certificates' | 'tokens' | 'wireguard' | 'onboard' | 'audit';

const NAVIGATION: ReadonlyArray<{ page: ConsolePage; label: string; path: string }> = [
  { page: 'overview', label: 'Overview', path: '/' },
  { page: 'certificates', label: 'Certificates', path: '/certificates' },
  { page: 'tokens', label: 'Tokens', path: '/tokens' },
  { page: 'wireguard', label: 'WireGuard', path: '/wireguard' },
  { page: 'onboard', label: 'Onboard an admin', path: '/onboard' },
  { page: 'audit', label: 'Audit', path: '/audit' },
];

/** Who is looking: from the admin-plane guard's decision. */
export interface Viewer {
  name: string;
  serial: string;
  role: AdminRole;
}

/** A console URL from a path below the console (`/tokens`). */
export const consoleUrl = (path: string) => `${CONSOLE_BASE}${path}`;

export interface LayoutProps {
  title: string;
  page: ConsolePage | undefined;
  viewer: Viewer | undefined;
}

/** The whole page: header with identity and role, navigation, main content. */
export function Layout({ title, page, viewer, children }: PropsWithChildren<LayoutProps>) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · mailgate`}</title>
        <link rel="stylesheet" href={consoleUrl(`/assets/console.css?v=${ASSET_VERSION}`)} />
        <script src={consoleUrl(`/assets/console.js?v=${ASSET_VERSION}`)} defer />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href={consoleUrl('/')}>
            <span class="logo" aria-hidden="true">
              ✉
            </span>
            mailgate <span class="muted">admin</span>
          </a>
          {viewer && (
            <p class="who">
              <span class="sr-only">Signed in with the certificate of </span>
              <strong>{viewer.name}</strong> <span class={`role role-${viewer.role}`}>{viewer.role}</span>
            </p>
          )}
        </header>
        <nav class="nav" aria-label="Console">
          <ul>
            {NAVIGATION.map((item) => (
              <li>
                <a href={consoleUrl(item.path)} aria-current={item.page === page ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" class="main">
          <h1>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}

/** A status line above the content; `alert` for errors (announced by screen readers). */
export function Notice({ kind, children }: PropsWithChildren<{ kind: 'ok' | 'error' | 'info' | 'warn' }>) {
  return (
    <div class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** What the viewer's role may not do here, said instead of showing a form the server would refuse. */
export function RoleNote({ needs, what }: { needs: AdminRole; what: string }) {
  return <p class="role-note">{`To ${what} you need the ${needs} role or higher.`}</p>;
}

/** A labelled form field. */
export function Field({
  label,
  hint,
  id,
  children,
}: PropsWithChildren<{ label: string; hint?: string; id: string }>) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small class="hint" id={`${id}-hint`}>
          {hint}
        </small>
      )}
    </div>
  );
}

/**
 * A table that scrolls sideways on a narrow screen instead of overflowing the page: one header cell per
 * column, plus an unlabelled one (named for screen readers) when the rows end in action buttons; the
 * children are the body's rows.
 */
export function TableBox({
  label,
  columns,
  actions = false,
  children,
}: PropsWithChildren<{ label: string; columns: readonly string[]; actions?: boolean }>) {
  return (
    <section class="table-box" aria-label={label} tabindex={0}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
            {actions && (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </section>
  );
}

/**
 * A labelled choice of `options` (their values shown as they are), `selected` preselected; with `anyOption`
 * a first empty choice, "any", for filters.
 */
export function SelectField({
  label,
  id,
  name,
  options,
  selected,
  anyOption = false,
}: {
  label: string;
  id: string;
  name: string;
  options: readonly string[];
  selected: string | undefined;
  anyOption?: boolean;
}) {
  return (
    <Field label={label} id={id}>
      <select id={id} name={name}>
        {anyOption && (
          <option value="" selected={!selected}>
            any
          </option>
        )}
        {options.map((value) => (
          <option value={value} selected={value === selected}>
            {value}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** A page's filter form: its fields, then the Filter button, sent as a GET to `action`. */
export function FilterForm({ action, children }: PropsWithChildren<{ action: string }>) {
  return (
    <search>
      <form method="get" action={action} class="filters">
        {children}
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
    </search>
  );
}

/**
 * A labelled input, described by its hint; free text is not offered for autocompletion (names, keys and
 * addresses of other people and machines).
 */
export function InputField({
  label,
  hint,
  id,
  ...input
}: {
  label: string;
  hint?: string;
  id: string;
  name: string;
  type?: string;
  required?: boolean;
  value?: string;
  min?: string;
  max?: number;
  placeholder?: string;
}) {
  return (
    <Field label={label} hint={hint} id={id}>
      <input
        id={id}
        autocomplete="off"
        aria-describedby={hint === undefined ? undefined : `${id}-hint`}
        {...input}
      />
    </Field>
  );
}

/**
 * A table row's button posting to `action` (revoke, disable, remove): its label, and for screen readers
 * the row it acts on; with `confirm`, console.js asks first.
 */
export function RowAction({
  action,
  label,
  row,
  confirm,
  tone = 'danger',
}: {
  action: string;
  label: string;
  row: string;
  confirm?: string | undefined;
  tone?: 'danger' | 'secondary';
}) {
  return (
    <form method="post" action={action} data-confirm={confirm}>
      <button type="submit" class={`${tone} small`}>
        {label}
        <span class="sr-only">{` ${row}`}</span>
      </button>
    </form>
  );
}

/** A status badge (valid, revoked, active, disabled...). */
export function Badge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** `2026-12-05 01:20 UTC`; an em dash for no time. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A `<time>` element with the ISO time for machines and the short form for people. */
export function Time({ ms }: { ms: number | null | undefined }): Child {
  if (ms === null || ms === undefined) return '—';
  return <time datetime={new Date(ms).toISOString()}>{formatTime(ms)}</time>;
}

/** "in 12 days", "3 hours ago". */
export function relative(ms: number, now: number): string {
  const seconds = Math.round((ms - now) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] =
    abs < 90
      ? [abs, 'second']
      : abs < 5_400
        ? [Math.round(abs / 60), 'minute']
        : abs < 129_600
          ? [Math.round(abs / 3_600), 'hour']
          : [Math.round(abs / 86_400), 'day'];
  const text = `${value} ${unit}${value === 1 ? '' : 's'}`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** A `data:` URL for a download link: secrets go to the browser in the page, never to a second URL. */
export function dataUrl(mediaType: string, data: string | Buffer): string {
  return `data:${mediaType};base64,${Buffer.from(data).toString('base64')}`;
}

/** A download button for a file the page carries itself (dataUrl: never a second URL for a secret). */
export function Download({
  file,
  type,
  data,
  secondary = false,
  children,
}: PropsWithChildren<{ file: string; type: string; data: string | Buffer; secondary?: boolean }>) {
  return (
    <a class={secondary ? 'button secondary' : 'button'} download={file} href={dataUrl(type, data)}>
      {children}
    </a>
  );
}
