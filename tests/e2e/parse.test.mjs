// End-to-end test of `semcode parse --json` on text that is not all UTF-8:
// every byte that starts no well-formed character (overlong, surrogate,
// past U+10FFFF, stray continuation, truncated) becomes one U+FFFD, the
// well-formed characters around them (4-byte ones included) stay, and every
// line is valid JSON. Run: node --test tests/e2e/ (needs no server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const bin = path.resolve(top, process.env.SEMCODE_BIN || 'build/semcode');

test('parse --json: ill-formed UTF-8 becomes U+FFFD byte by byte, the rest is kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semcode-e2e-parse-'));
  const doc = Buffer.concat([
    Buffer.from('caf\u00e9 '),
    Buffer.from([0xc0, 0xaf]), Buffer.from(' ov '),             // overlong '/'
    Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(' sur '),      // surrogate U+D800
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from(' big '), // U+110000
    Buffer.from([0x80]), Buffer.from(' stray '),                // continuation byte
    Buffer.from('\u{1F600} \uFFFE ok '),                        // 4-byte and noncharacter: well-formed
    Buffer.from([0xe2, 0x82]),                                  // truncated by the closing quotes
  ]);
  const src = Buffer.concat([Buffer.from('def f():\n    """'), doc, Buffer.from('"""\n    return 1\n')]);
  fs.writeFileSync(path.join(dir, 'a.py'), src);
  const r = spawnSync(bin, ['parse', path.join(dir, 'a.py'), '--json']);
  assert.equal(r.status, 0, r.stderr.toString());
  // the output itself is well-formed UTF-8 (a bad byte is written as the escape \ufffd, never raw)
  const out = new TextDecoder('utf-8', { fatal: true }).decode(r.stdout);
  assert.ok(out.includes('ov \\ufffd\\ufffd\\ufffd sur'), out);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  const f = lines.find((o) => o.type === 'entity' && o.name === 'f');
  const R = '\uFFFD';
  assert.equal(f.doc, `caf\u00e9 ${R.repeat(2)} ov ${R.repeat(3)} sur ${R.repeat(4)} big ${R} stray ` +
    `\u{1F600} \uFFFE ok ${R.repeat(2)}`);
  fs.rmSync(dir, { recursive: true, force: true });
});
