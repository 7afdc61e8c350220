import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// DESIGN.md section 6: the core never imports a link, a role or a transport.
const coreDir = fileURLToPath(new URL('../../lib/core/', import.meta.url));
const FORBIDDEN = [/node:cluster/, /node:net/, /node:tls/, /worker_threads/, /node:child_process/, /\.\.\/(links|roles|wire)\//];

describe('lib/core layering', () => {
  const files = readdirSync(coreDir).filter((file) => file.endsWith('.ts'));

  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files)('%s imports no transport, link or role', (file) => {
    const imports = readFileSync(coreDir + file, 'utf8')
      .split('\n')
      .filter((line) => /^\s*(import|export)\b.*\bfrom\s+['"]/.test(line) || /\brequire\(/.test(line) || /\bimport\(/.test(line));
    for (const line of imports) for (const pattern of FORBIDDEN) expect(line, `${file}: ${line}`).not.toMatch(pattern);
  });
});
