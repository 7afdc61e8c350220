import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './page-script.js';

const STYLE = `
:root { color-scheme: light dark; --ok: #2e9d4f; --warn: #c98a12; --bad: #cc3b3b; --line: #8884; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px; }
header { display: flex; gap: 16px; align-items: baseline; border-bottom: 1px solid var(--line); padding-bottom: 8px; }
header h1 { font-size: 20px; margin: 0; }
#status.live { color: var(--ok); } #status.down { color: var(--bad); }
section { margin-top: 18px; } h2 { font-size: 15px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); }
td.none { opacity: 0.6; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 6px; }
.figure { display: flex; justify-content: space-between; gap: 8px; border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; }
svg text { font-size: 11px; fill: currentColor; } svg .sub { opacity: 0.7; font-size: 10px; }
svg rect { fill: #8881; stroke: currentColor; stroke-opacity: 0.5; }
svg .self rect { stroke-width: 2; stroke-opacity: 1; }
svg .link { stroke-width: 2; } svg .up { stroke: var(--ok); } svg .connecting { stroke: var(--warn); } svg .down { stroke: var(--bad); }
svg .peer.down rect { stroke: var(--bad); stroke-opacity: 1; } svg .peer.up rect { stroke: var(--ok); stroke-opacity: 1; }
svg .series { fill: none; stroke: #3b7ddd; stroke-width: 1.5; }
#tree { max-height: 480px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; padding: 6px; }
#tree ul { list-style: none; padding-left: 16px; margin: 0; } #tree > ul { padding-left: 0; }
#tree button { background: none; border: 0; color: inherit; font: inherit; cursor: pointer; padding: 0; }
#tree button.more { text-decoration: underline; opacity: 0.8; }
.sub { opacity: 0.7; } code { font-size: 13px; }
`;

const BODY = `
<header><h1>collective</h1><span>hub <b id="hub-id">…</b></span><span id="uptime"></span><span id="status">connecting</span></header>
<section><h2>Topology</h2><div id="topology"></div></section>
<section><h2>Peers</h2><table id="peers"></table></section>
<section><h2>Members</h2><table id="members"></table></section>
<section><h2>Ops per second</h2><div id="chart"></div></section>
<section><h2>Store, GC, expiry, persistence</h2><div id="figures" class="grid"></div></section>
<section><h2>Rejections</h2><table id="rejections"></table></section>
<section><h2>Store</h2><div id="tree"></div></section>
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The dashboard's page: one document, its style and script inline, nothing fetched but the hub's own routes. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>collective dashboard</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body>${BODY}<script>${PAGE_SCRIPT}</script></body></html>
`;

/**
 * The page's content security policy: its own inline style and script (by hash) and requests to
 * the hub that served it, nothing else; it cannot be framed.
 */
export const PAGE_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
