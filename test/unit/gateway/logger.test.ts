import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../gateway/logger.js';
import { tempDir } from '../../helpers/temp-store.js';

const root = tempDir('mailgate-logger-');

/** Logs through the real logger into a file and returns the lines written. */
async function logged(write: (logger: ReturnType<typeof createLogger>) => void) {
  const path = join(root, `${Math.random().toString(36).slice(2)}.log`);
  const logger = createLogger({ destination: path });
  write(logger);
  // The file opens asynchronously: flush until the line is there.
  let text = '';
  for (let attempt = 0; attempt < 100 && text === ''; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => logger.flush(resolve));
    text = readFileSync(path, 'utf8');
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const secrets = {
  authorization: 'Bearer secret-token',
  cookie: 'session=secret-cookie',
  'x-api-key': 'secret-api-key',
};

describe('createLogger', () => {
  it('redacts authorization, cookie and x-api-key wherever a request or its headers are logged', async () => {
    const [line] = await logged((logger) =>
      logger.warn(
        {
          req: { method: 'GET', headers: { ...secrets, host: 'mail.example.com' } },
          headers: secrets,
          ...secrets,
        },
        'denied',
      ),
    );
    expect(JSON.stringify(line)).not.toContain('secret');
    const redacted = { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]' };
    expect(line).toMatchObject({ msg: 'denied', ...redacted, headers: redacted });
    expect((line!.req as { headers: unknown }).headers).toEqual({ ...redacted, host: 'mail.example.com' });
  });

  it('keeps the other fields as they are', async () => {
    const [line] = await logged((logger) => logger.info({ reqId: 'r1', path: '/SOGo' }, 'request'));
    expect(line).toMatchObject({
      level: 'info',
      service: 'mailgate',
      msg: 'request',
      reqId: 'r1',
      path: '/SOGo',
    });
  });

  it('keeps every line whole and in order across chunks, with non-ASCII text and lines longer than a chunk', async () => {
    const long = 'é'.repeat(20_000);
    const lines = await logged((logger) => {
      for (let n = 0; n < 600; n++) logger.info({ n, path: `/€/${n}/😀` }, 'request');
      logger.info({ n: 600, long }, 'long');
      logger.info({ n: 601 }, 'after');
    });
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 602 }, (_, n) => n));
    expect(lines[599]!.path).toBe('/€/599/😀');
    expect(lines[600]!.long).toBe(long);
  });
});
