// npm run docs:config: writes docs/config.md from the config fields' texts (src/config/field-texts.ts), as
// `incap-cert help config` and incap-cert-config(5) render them. test/unit/config-fields.test.ts fails while the
// committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { configMarkdown } from '../src/cli/config-page.js';

const file = new URL('../docs/config.md', import.meta.url);
writeFileSync(file, configMarkdown());
console.log('wrote docs/config.md');
