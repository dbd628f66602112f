import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, isWireGuardKey, publicKeyOf } from '../../wireguard/keys.js';

/** Runs `wg pubkey` once per input line inside a single shell, so 100 keys cost one spawn. */
function wgPubkeys(privateKeys: readonly string[]): string[] {
  const output = execFileSync(
    'sh',
    ['-c', 'while IFS= read -r key; do printf "%s\\n" "$key" | wg pubkey; done'],
    {
      input: `${privateKeys.join('\n')}\n`,
      encoding: 'utf8',
    },
  );
  return output.trim().split('\n');
}

describe('keys against wireguard-tools', () => {
  it('wg pubkey derives exactly our public key for 100 generated private keys', () => {
    const pairs = Array.from({ length: 100 }, () => generateKeyPair());
    expect(wgPubkeys(pairs.map((p) => p.privateKey))).toEqual(pairs.map((p) => p.publicKey));
  });

  it('derives the same public key as wg pubkey for keys made by wg genkey', () => {
    const script =
      'for i in 1 2 3 4 5 6 7 8 9 10; do k=$(wg genkey); printf "%s %s\\n" "$k" "$(printf "%s\\n" "$k" | wg pubkey)"; done';
    const lines = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    for (const line of lines) {
      const [privateKey, publicKey] = line.split(' ');
      expect(publicKeyOf(privateKey!)).toBe(publicKey);
    }
  });

  it('accepts the format of wg genpsk and wg genkey', () => {
    const keys = execFileSync('sh', ['-c', 'wg genpsk; wg genkey'], { encoding: 'utf8' }).trim().split('\n');
    for (const key of keys) expect(isWireGuardKey(key)).toBe(true);
  });
});
