import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, GLOBAL_FLAGS, markdownReference } from './docs.js';

describe('documentation', () => {
  it('the markdown reference has every command and flag', () => {
    const md = markdownReference();
    for (const c of COMMANDS) {
      expect(md).toContain(`## stade ${c.name}`);
      for (const f of c.flags) expect(md).toContain(`--${f.name}`);
    }
    for (const f of GLOBAL_FLAGS) expect(md).toContain(`--${f.name}`);
  });

  it('the README shows every command with an example and mentions every flag', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const c of COMMANDS) {
      expect(readme).toMatch(new RegExp(`\\nstade ${c.name}\\b`));
      for (const f of c.flags) expect(readme, `--${f.name} of ${c.name}`).toContain(`--${f.name}`);
    }
    for (const f of GLOBAL_FLAGS) expect(readme).toContain(`--${f.name}`);
  });
});
