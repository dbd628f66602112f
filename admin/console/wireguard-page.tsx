/**
 * @module WireGuard peers: list (viewer), add with the config shown once as a QR code and a download
 * (admin), disable and remove (operator), enable (admin: it grants access again).
 */
import { Hono } from 'hono';
import { parseDuration } from '../../lib/duration.js';
import {
  APPLY_PEERS_COMMAND,
  addPeer,
  formatCidr,
  listPeers,
  parseIpAddress,
  peerStatus,
  qrPng,
  readServer,
  removePeer,
  setPeerEnabled,
} from '../../wireguard/index.js';
import type { AdminEnv } from '../admin-env.js';
import { ApiError } from '../api/api-error.js';
import { apiActor, auditCalls, auditedChange } from '../api/call-audit.js';
import { formBody } from '../api/request-input.js';
import { requireRole, roleAtLeast } from '../api/roles.js';
import { type ConsoleOptions, renderPage, viewerOf } from './app.js';
import { optionalFields } from './form-fields.js';
import {
  Badge,
  consoleUrl,
  Download,
  dataUrl,
  InputField,
  Notice,
  RoleNote,
  RowAction,
  TableBox,
  Time,
} from './layout.js';

/** IP addresses typed in one field, separated by commas or spaces; each names the field when it is bad. */
export function ipList(text: string | undefined, field: string): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((ip) => parseIpAddress(ip, field));
}

/** The reminder every change ends with: the running interface only learns of it from the server config. */
export function ApplyReminder() {
  return (
    <Notice kind="info">
      Apply peer changes on the server: <code>{APPLY_PEERS_COMMAND}</code>
    </Notice>
  );
}

function AddForm() {
  return (
    <form method="post" action={consoleUrl('/wireguard')} class="card form">
      <h2>Add a peer</h2>
      <div class="grid">
        <InputField label="Name" id="peer-name" hint="e.g. alice-phone" name="name" required />
        <InputField
          label="DNS servers (optional)"
          id="peer-dns"
          hint="IP addresses, separated by commas"
          name="dns"
        />
        <InputField label="Expires after (optional)" id="peer-expires" hint="e.g. 30d" name="expires" />
        <InputField
          label="Route the public address (optional)"
          id="peer-route"
          hint="The server's public IP"
          name="routePublic"
        />
      </div>
      <button type="submit">Add peer</button>
    </form>
  );
}

const DONE: Record<string, string> = { remove: 'Removed', enable: 'Enabled', disable: 'Disabled' };

/** Where a change redirects to (See Other), naming what was done; the page words it itself. */
const doneUrl = (action: string, peer: string) =>
  consoleUrl(`/wireguard?done=${action}&peer=${encodeURIComponent(peer)}`);

function doneMessage(action: string | undefined, peer: string | undefined): string | undefined {
  const verb = action === undefined ? undefined : DONE[action];
  return verb && peer ? `${verb} ${peer}.` : undefined;
}

const ACTIONS = {
  disable: { minimum: 'operator', enabled: false },
  enable: { minimum: 'admin', enabled: true },
} as const;

/** The routes under `/wireguard`. */
export function wireguardRoutes(options: ConsoleOptions): Hono<AdminEnv> {
  const { db } = options;
  const audited = auditCalls(db);
  const app = new Hono<AdminEnv>();

  app.get('/', (c) => {
    const now = Date.now();
    const server = readServer(db);
    const role = viewerOf(c)?.role;
    const done = doneMessage(c.req.query('done'), c.req.query('peer'));
    if (!server) {
      return renderPage(
        c,
        { title: 'WireGuard peers', page: 'wireguard' },
        <Notice kind="info">
          No WireGuard server yet: run <code>mailgate wg init --endpoint HOST:51820</code> on the server.
        </Notice>,
      );
    }
    const peers = listPeers(db);
    return renderPage(
      c,
      { title: 'WireGuard peers', page: 'wireguard' },
      <>
        {done && <Notice kind="ok">{done}</Notice>}
        <dl class="facts card">
          <dt>Endpoint</dt>
          <dd>
            <code>{server.endpoint}</code>
          </dd>
          <dt>Range</dt>
          <dd>
            <code>{formatCidr(server.cidr)}</code> (server {server.address})
          </dd>
          <dt>Server public key</dt>
          <dd>
            <code class="key">{server.publicKey}</code>
          </dd>
        </dl>
        <ApplyReminder />
        <TableBox label="Peers" columns={['Name', 'Address', 'Status', 'Expires', 'Public key']} actions>
          {peers.map((peer) => {
            const status = peerStatus(peer, now);
            return (
              <tr>
                <td>{peer.name}</td>
                <td>
                  <code>{peer.address}</code>
                </td>
                <td>
                  <Badge status={status} />
                </td>
                <td>{peer.expiresAt === null ? 'never' : <Time ms={peer.expiresAt} />}</td>
                <td>
                  <code class="key">{peer.publicKey}</code>
                </td>
                <td class="row-actions">
                  {peer.disabled
                    ? roleAtLeast(role, 'admin') && (
                        <PeerAction name={peer.name} action="enable" label="Enable" />
                      )
                    : roleAtLeast(role, 'operator') && (
                        <PeerAction name={peer.name} action="disable" label="Disable" />
                      )}
                  {roleAtLeast(role, 'operator') && (
                    <PeerAction
                      name={peer.name}
                      action="remove"
                      label="Remove"
                      confirm={`Remove ${peer.name}? Its address becomes free and its config stops working.`}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </TableBox>
        {roleAtLeast(role, 'admin') ? <AddForm /> : <RoleNote needs="admin" what="add peers" />}
      </>,
    );
  });

  app.post('/', audited('console.wireguard.add'), requireRole('admin'), formBody(), async (c) => {
    const form = optionalFields(c.req.valid('form'), ['name', 'dns', 'expires', 'routePublic']);
    let expiresInMs: number | undefined;
    if (form.expires !== undefined) {
      expiresInMs = parseDuration(form.expires);
      if (expiresInMs === undefined) {
        throw new ApiError('invalid_field', 'expires must be a duration such as 30d, 12h or 90m', {
          field: 'expires',
        });
      }
    }
    const prepared = addPeer(
      db,
      {
        name: form.name ?? '',
        dns: ipList(form.dns, 'dns'),
        expiresInMs,
        routePublic:
          form.routePublic === undefined ? undefined : parseIpAddress(form.routePublic, 'routePublic'),
      },
      apiActor(c),
    );
    c.get('adminApiCall').target = prepared.peer.name;
    const png = await qrPng(prepared.config);
    const { name, address } = prepared.peer;
    return renderPage(
      c,
      { title: 'Peer added', page: 'wireguard', status: 201 },
      <>
        <Notice kind="ok">{`Added ${name} with address ${address}.`}</Notice>
        <section class="card secret" aria-labelledby="secret-heading">
          <h2 id="secret-heading">The peer's config: shown only now</h2>
          <p>
            It holds the peer's private key, which mailgate does not keep. Scan it with the WireGuard app or
            download it.
          </p>
          <img
            class="qr"
            src={dataUrl('image/png', png)}
            alt={`QR code of the WireGuard config of ${name}`}
          />
          <p class="downloads">
            <Download file={`${name}.conf`} type="text/plain" data={prepared.config}>
              Download {name}.conf
            </Download>
          </p>
        </section>
        <ApplyReminder />
        <p>
          <a href={consoleUrl('/wireguard')}>Back to the peers</a>
        </p>
      </>,
    );
  });

  app.post('/:name/remove', audited('console.wireguard.remove'), requireRole('operator'), formBody(), (c) => {
    const peer = auditedChange(c, db, 303, () => removePeer(db, c.req.param('name'), apiActor(c)));
    return c.redirect(doneUrl('remove', peer.name), 303);
  });

  for (const [action, { minimum, enabled }] of Object.entries(ACTIONS)) {
    app.post(
      `/:name/${action}`,
      audited(`console.wireguard.${action}`),
      requireRole(minimum),
      formBody(),
      (c) => {
        const peer = auditedChange(c, db, 303, () =>
          setPeerEnabled(db, c.req.param('name'), enabled, apiActor(c)),
        );
        return c.redirect(doneUrl(action, peer.name), 303);
      },
    );
  }

  return app;
}

function PeerAction({
  name,
  action,
  label,
  confirm,
}: {
  name: string;
  action: 'enable' | 'disable' | 'remove';
  label: string;
  confirm?: string;
}) {
  return (
    <RowAction
      action={consoleUrl(`/wireguard/${encodeURIComponent(name)}/${action}`)}
      label={label}
      row={name}
      confirm={confirm}
      tone={action === 'enable' ? 'secondary' : 'danger'}
    />
  );
}
