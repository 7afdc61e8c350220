/**
 * The dashboard page's script, as the browser runs it (plain JavaScript in a string: the page is
 * one self-contained document, with no build step). It follows `/events`, draws the topology,
 * the tables and the ops/s chart from each stats event, and browses the store through `/state`.
 * Everything from the hub is put in the page as text (`textContent`), never as markup.
 */
export const PAGE_SCRIPT = String.raw`
'use strict';
const token = new URLSearchParams(location.search).get('token');
const withToken = (path) => token === null ? path : path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
let history = [];
let intervalMs = 1000;
let lastOps = -1;
let treeDirty = false;

function el(tag, attributes, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(svgNs, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) if (value !== undefined) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1048576).toFixed(1) + ' MiB';
}
const ms = (n) => n === undefined || n === null ? '–' : Math.round(n) + ' ms';
const num = (n) => n === undefined || n === null ? '–' : Number(n).toLocaleString('en');
// Times are read against the hub's clock (each stats event carries it), not the browser's.
let hubNow = Date.now();
const ago = (t) => t === undefined || t === null ? '–' : Math.max(0, Math.round((hubNow - t) / 1000)) + ' s ago';

function table(id, headings, rows) {
  const body = rows.length === 0 ? [el('tr', {}, el('td', { colspan: headings.length, class: 'none' }, 'none'))]
    : rows.map((row) => el('tr', row.attributes ?? {}, ...row.cells.map((cell) => el('td', {}, cell))));
  $(id).replaceChildren(el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', {}, h)))), el('tbody', {}, ...body));
}

function peersOf(stats) {
  if (stats.redis !== undefined) {
    return stats.redis.hubs.filter((hub) => !hub.left).map((hub) => ({
      id: hub.id, address: 'redis ' + stats.redis.group + (hub.name ? ' / ' + hub.name : ''),
      state: !stats.redis.connected ? 'down' : hub.silentMs > 3000 ? 'connecting' : 'up',
      behind: hub.behind, lagMs: hub.lagMs, clockOffsetMs: hub.clockOffsetMs, queuedBytes: undefined,
    }));
  }
  return stats.peers.map((peer) => ({
    id: peer.id ?? '?', address: peer.address, state: peer.outbound, inbound: peer.inbound,
    behind: peer.behind, lagMs: peer.lagMs, clockOffsetMs: peer.clockOffsetMs, queuedBytes: peer.queuedBytes,
  }));
}

function drawTopology(stats, peers) {
  // Columns: threads of workers (each linked to its worker), this hub's members, the hub, peers.
  const members = stats.memberList.filter((m) => m.via === undefined);
  const served = stats.memberList.filter((m) => m.via !== undefined);
  const rows = Math.max(members.length, served.length, peers.length, 1);
  const height = Math.max(120, rows * 46 + 20);
  const svg = el('svg:svg', { viewBox: '0 0 900 ' + height, width: '100%', height, role: 'img', 'aria-label': 'topology' });
  const hubY = height / 2;
  const box = (x, y, w, label, sub, cls, data) => {
    const group = el('svg:g', { class: cls, ...data });
    group.append(el('svg:rect', { x: x - w / 2, y: y - 18, width: w, height: 36, rx: 6 }));
    group.append(el('svg:text', { x, y: y - 2, 'text-anchor': 'middle' }, label));
    group.append(el('svg:text', { x, y: y + 12, 'text-anchor': 'middle', class: 'sub' }, sub));
    return group;
  };
  const place = (i, n) => 20 + (height - 40) * (i + 0.5) / Math.max(n, 1);
  const memberY = new Map();
  members.forEach((member, i) => memberY.set(member.member, place(i, members.length)));
  served.forEach((thread, i) => {
    const y = place(i, served.length);
    svg.append(el('svg:line', { x1: 145, y1: y, x2: 200, y2: memberY.get(thread.via) ?? hubY, class: 'link up' }));
    svg.append(box(80, y, 130, 'thread ' + thread.thread, 'of member #' + thread.via, 'node member thread', { 'data-thread': thread.thread, 'data-via': thread.via }));
  });
  members.forEach((member) => {
    const y = memberY.get(member.member);
    svg.append(el('svg:line', { x1: 330, y1: y, x2: 460, y2: hubY, class: 'link ' + (member.synced ? 'up' : 'connecting') }));
    svg.append(box(265, y, 130, member.kind + ' #' + member.member, 'pid ' + (member.pid ?? '?') + (member.thread !== undefined ? ' · thread ' + member.thread : ''), 'node member', { 'data-member': member.member }));
  });
  peers.forEach((peer, i) => {
    const y = place(i, peers.length);
    svg.append(el('svg:line', { x1: 580, y1: hubY, x2: 730, y2: y, class: 'link ' + peer.state }));
    svg.append(box(810, y, 160, 'hub ' + peer.id, peer.address + ' · ' + peer.state, 'node peer ' + peer.state, { 'data-peer': peer.id, 'data-state': peer.state }));
  });
  svg.append(box(520, hubY, 130, 'this hub', stats.id, 'node self', { 'data-self': stats.id }));
  $('topology').replaceChildren(svg);
}

function drawChart() {
  const width = 720, height = 120;
  const svg = el('svg:svg', { viewBox: '0 0 ' + width + ' ' + height, width: '100%', height, role: 'img', 'aria-label': 'ops per second' });
  const samples = history.slice(-600);
  const top = Math.max(10, ...samples.map((s) => s[1]));
  if (samples.length > 1) {
    const t0 = samples[0][0], span = Math.max(1, samples[samples.length - 1][0] - t0);
    const points = samples.map(([t, v]) => ((t - t0) / span * (width - 50) + 45).toFixed(1) + ',' + (height - 15 - v / top * (height - 30)).toFixed(1));
    svg.append(el('svg:polyline', { points: points.join(' '), class: 'series' }));
  }
  svg.append(el('svg:text', { x: 2, y: 12, class: 'sub' }, num(top)));
  svg.append(el('svg:text', { x: 2, y: height - 15, class: 'sub' }, '0'));
  svg.append(el('svg:text', { x: width - 2, y: height - 2, 'text-anchor': 'end', class: 'sub' }, 'last ' + Math.round(samples.length * intervalMs / 60000 * 10) / 10 + ' min'));
  $('chart').replaceChildren(svg);
}

function render(stats) {
  hubNow = stats.at;
  $('hub-id').textContent = stats.id;
  $('uptime').textContent = 'up ' + Math.round((stats.at - stats.startedAt) / 1000) + ' s';
  const peers = peersOf(stats);
  drawTopology(stats, peers);
  table('peers', ['peer', 'address', 'state', 'behind (writes)', 'lag', 'clock offset', 'queued'], peers.map((peer) => ({
    attributes: { 'data-peer-row': peer.id, 'data-state': peer.state },
    cells: [peer.id, peer.address, peer.state + (peer.inbound ? ' · in' : ''), num(peer.behind), ms(peer.lagMs), ms(peer.clockOffsetMs), peer.queuedBytes === undefined ? '–' : bytes(peer.queuedBytes)],
  })));
  table('members', ['member', 'kind', 'pid', 'thread', 'link', 'writes', 'pending', 'queued', 'synced'], stats.memberList.map((m) => ({
    attributes: m.via === undefined ? { 'data-member-row': m.member } : { 'data-thread-row': m.thread },
    cells: [m.member, m.kind, m.pid ?? '?', m.thread ?? '–', m.link, num(m.writes), num(m.pending), bytes(m.queuedBytes), m.synced ? 'yes' : 'no'],
  })));
  const figures = [
    ['ops applied', num(stats.opsApplied)], ['ops/s', num(stats.opsPerSecond)], ['local ops', num(stats.opsLocal)],
    ['queued', bytes(stats.queuedBytes)], ['watchers', num(stats.watchers)], ['metadata nodes', num(stats.metadata.nodes)],
    ['op records', num(stats.metadata.ops)], ['GC rounds', num(stats.gc.runs) + ' folded, ' + num(stats.gc.waits) + ' waited'],
    ['GC frontier', ago(stats.gc.horizon)], ['GC waits for', num(stats.gc.members) + ' hubs'],
    ['expiries taken', num(stats.expiry.fired)], ['next expiry', stats.expiry.nextDue === undefined ? '–' : 'in ' + ms(stats.expiry.nextDue - hubNow)],
  ];
  if (stats.persist !== undefined) {
    const p = stats.persist;
    figures.push(['persist', p.dir + ' (fsync ' + p.fsync + ')'], ['log', bytes(p.logBytes) + ', ' + num(p.records) + ' records'],
      ['fsyncs', num(p.fsyncs)], ['compactions', num(p.compactions) + ', longest pause ' + ms(p.longestCompactionPauseMs)], ['disk', p.failed ?? 'ok']);
  }
  if (stats.redis !== undefined) {
    const r = stats.redis;
    figures.push(['redis', r.group + (r.connected ? ' · connected' : ' · unreachable')], ['entries', num(r.entriesAppended) + ' appended, ' + num(r.entriesRead) + ' read'], ['queued ops', num(r.queuedOps)], ['gaps', num(r.gaps)]);
  }
  $('figures').replaceChildren(...figures.map(([k, v]) => el('div', { class: 'figure' }, el('span', {}, k), el('b', {}, v))));
  const rejected = Object.entries(stats.rejections).concat([
    ['bad frames', stats.rejectedFrames], ['auth failures', stats.authFailures], ['handshake timeouts', stats.handshakeTimeouts],
    ['bad member messages', stats.rejectedMessages], ['refused member writes', stats.rejectedIntents],
  ], stats.redis === undefined ? [] : Object.entries(stats.redis.rejected).map(([k, v]) => ['redis ' + k, v]));
  table('rejections', ['reason', 'count'], rejected.map(([code, count]) => ({ cells: [code, num(count)] })));
  drawChart();
  if (stats.opsApplied !== lastOps) { lastOps = stats.opsApplied; treeDirty = true; }
}

// The tree browser: open paths (JSON of their segments) and how many entries each shows.
const open = new Map([['[]', 100]]);
let treeBusy = false;

async function listing(path, offset, limit) {
  const response = await fetch(withToken('/state?keys=1&path=' + encodeURIComponent(JSON.stringify(path)) + '&offset=' + offset + '&limit=' + limit));
  if (!response.ok) return { entries: [], total: 0 };
  return response.json();
}

async function renderLevel(path) {
  const key = JSON.stringify(path);
  const list = el('ul', { 'data-path': key });
  const shown = open.get(key) ?? 100;
  let total = 0, offset = 0;
  while (offset < shown) {
    const page = await listing(path, offset, Math.min(100, shown - offset));
    total = page.total;
    for (const entry of page.entries) list.append(await renderEntry(path.concat(entry.key), entry));
    if (page.entries.length === 0) break;
    offset += page.entries.length;
  }
  if (total > offset) {
    const more = el('button', { class: 'more' }, 'more (' + num(total - offset) + ' left)');
    more.addEventListener('click', () => { open.set(key, offset + 100); refreshTree(); });
    list.append(el('li', {}, more));
  }
  return list;
}

async function renderEntry(path, entry) {
  const key = JSON.stringify(path);
  const item = el('li', { 'data-key': key });
  if (entry.type === 'object' || entry.type === 'array') {
    const isOpen = open.has(key);
    const toggle = el('button', { class: 'toggle' }, (isOpen ? '▾ ' : '▸ ') + entry.key);
    toggle.addEventListener('click', () => { if (open.has(key)) open.delete(key); else open.set(key, 100); refreshTree(); });
    item.append(toggle, el('span', { class: 'sub' }, ' ' + entry.type + ', ' + num(entry.size)));
    if (isOpen) item.append(await renderLevel(path));
  } else {
    item.append(el('span', { class: 'leaf-key' }, entry.key + ': '), el('code', {}, JSON.stringify(entry.value) + (entry.truncated ? '…' : '')));
  }
  return item;
}

async function refreshTree() {
  if (treeBusy) { treeDirty = true; return; }
  treeBusy = true; treeDirty = false;
  try { $('tree').replaceChildren(await renderLevel([])); } finally { treeBusy = false; }
}

setInterval(() => { if (treeDirty) refreshTree(); }, 1000);

function connect() {
  const source = new EventSource(withToken('/events'));
  source.addEventListener('open', () => { $('status').textContent = 'live'; $('status').className = 'live'; });
  source.addEventListener('error', () => { $('status').textContent = 'reconnecting'; $('status').className = 'down'; });
  source.addEventListener('history', (event) => { const data = JSON.parse(event.data); intervalMs = data.intervalMs; history = data.samples; });
  source.addEventListener('stats', (event) => {
    const stats = JSON.parse(event.data);
    history.push([stats.at, stats.opsPerSecond]);
    if (history.length > 600) history.shift();
    render(stats);
  });
}
connect();
refreshTree();
`;
