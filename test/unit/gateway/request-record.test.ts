import { describe, expect, it } from 'vitest';
import { accessLineMembers, type RequestRecord } from '../../../gateway/request-record.js';

const record: RequestRecord = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  start: 0,
  method: 'GET',
  path: '/SOGo/so/user',
  route: '/SOGo',
  plane: 'public',
  client: '203.0.113.7',
  limitKey: '203.0.113.7',
  upstream: 'mailcow',
  bytes: 120,
};

const parsed = (members: string) => JSON.parse(`{${members}}`) as Record<string, unknown>;

describe('accessLineMembers', () => {
  it('renders the fields in order and leaves absent ones out', () => {
    expect(accessLineMembers(record, 200, 1.5, true)).toBe(
      '"reqId":"0f8fad5b-d9cb-469f-a165-70867728950e","method":"GET","route":"/SOGo","path":"/SOGo/so/user","status":200,"ms":1.5,"plane":"public","client":"203.0.113.7","upstream":"mailcow","bytes":120',
    );
  });

  it('adds principal, denial, failure and aborted when they are set', () => {
    const line = parsed(
      accessLineMembers(
        { ...record, principal: 'newsletter', denied: 'insufficient_scope', failure: 'headers_timeout' },
        499,
        12,
        false,
      ),
    );
    expect(line).toMatchObject({
      principal: 'newsletter',
      denied: 'insufficient_scope',
      failure: 'headers_timeout',
      status: 499,
      aborted: true,
    });
  });

  // The canonical path is decoded, and h2 carries any method token: both can hold anything.
  it.each([
    ['a quote and a backslash', '/x"y\\z'],
    ['control characters', '/a\u0000b\nc\u001f'],
    ['DEL and non-ASCII', '/\u007fé€😀'],
    ['a lone surrogate', '/a\ud800b'],
  ])('escapes %s so the line stays one valid JSON object', (_name, value) => {
    const members = accessLineMembers(
      { ...record, path: value, method: value, principal: value },
      400,
      0,
      true,
    );
    expect(members).not.toMatch(/[\n\u0000]/);
    expect(parsed(members)).toMatchObject({ path: value, method: value, principal: value });
  });
});
