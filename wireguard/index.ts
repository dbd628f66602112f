/**
 * @module The WireGuard capability's public surface (used by the CLI, admin onboarding and the gateway config).
 */

export { type AddPeerOptions, addPeer, commitPeer, type PreparedPeer, preparePeer } from './add-peer.js';
export { DEFAULT_WG_CIDR, formatCidr, parseWireGuardCidr } from './address-pool.js';
export { type Endpoint, parseEndpoint, parseIpAddress } from './endpoint.js';
export { type InitServerOptions, type InitServerResult, initServer } from './init-server.js';
export { generateKeyPair, generatePresharedKey, isWireGuardKey, publicKeyOf } from './keys.js';
export { type PeerFiles, removePeerFiles, writePeerFiles } from './peer-files.js';
export { validatePeerName } from './peer-name.js';
export { type PeerStatus, peerStatus, removePeer, setPeerEnabled } from './peer-state.js';
export { qrPng, qrTerminal } from './qr-code.js';
export { APPLY_PEERS_COMMAND, serverConfig, wireguardRange } from './server-config.js';
export { listPeers, readServer, requireServer, serverMissing, type WgPeer, type WgServer } from './store.js';
