// The zkts web console. Plain browser JavaScript, no build step. Every value from the server is
// put into the page as text (textContent), never as markup, so node data cannot run in the page.

const state = {
  selected: '/',
  node: null,
  view: 'text',
  expanded: new Set(['/']),
  auth: sessionStorage.getItem('zk-auth') || '',
  samples: [],
  lastStats: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function headers(extra) {
  const h = Object.assign({}, extra);
  if (state.auth) h['X-ZK-Auth'] = `digest ${state.auth}`;
  return h;
}

async function api(route, params) {
  const qs = new URLSearchParams(params || {}).toString();
  const res = await fetch(`api/${route}${qs ? `?${qs}` : ''}`, { headers: headers() });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), { code: body.code });
  return body;
}

async function write(req) {
  const res = await fetch('api/write', {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', 'X-ZK-Console': '1' }),
    body: JSON.stringify(req),
  });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), { code: body.code });
  return body;
}

function message(text, kind) {
  state.messageAt = Date.now();
  const m = $('message');
  m.textContent = text;
  m.className = kind || '';
}

function childPath(parent, name) {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

// ---------------------------------------------------------------- tree

async function renderTree() {
  const root = $('tree');
  const li = await treeItem('/', '/', false, 1);
  root.replaceChildren(li);
}

async function treeItem(path, label, ephemeral, numChildren) {
  const open = state.expanded.has(path);
  const toggle = el('span', { class: 'toggle' }, numChildren > 0 ? (open ? '▾' : '▸') : '');
  const item = el(
    'div',
    {
      class: `item${state.selected === path ? ' selected' : ''}`,
      dataset: { path },
      title: path,
      onclick: (ev) => {
        ev.stopPropagation();
        if (ev.target === toggle && numChildren > 0) {
          if (open) state.expanded.delete(path);
          else state.expanded.add(path);
          void renderTree();
          return;
        }
        message('');
        select(path);
      },
    },
    toggle,
    el('span', { class: 'name' }, label),
    ephemeral ? el('span', { class: 'eph' }, 'ephemeral') : null,
  );
  const li = el('li', {}, item);
  if (open && numChildren > 0) {
    try {
      const { children } = await api('children', { path });
      const ul = el('ul');
      for (const c of children)
        ul.append(await treeItem(childPath(path, c.name), c.name, c.ephemeral, c.numChildren));
      li.append(ul);
    } catch (e) {
      li.append(el('div', { class: 'eph' }, e.code || e.message));
    }
  }
  return li;
}

function select(path) {
  if (location.hash !== `#${path}`) location.hash = path;
  else void showSelected();
}

async function showSelected() {
  const path = decodeURIComponent(location.hash.slice(1)) || '/';
  state.selected = path;
  // Open the ancestors so the node shows in the tree.
  let p = path;
  while (p !== '/' && p !== '') {
    p = p.slice(0, p.lastIndexOf('/')) || '/';
    state.expanded.add(p);
  }
  await loadNode(true);
  await renderTree();
}

// ---------------------------------------------------------------- node

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

function hexDump(hex) {
  const lines = [];
  for (let i = 0; i < hex.length; i += 32) {
    const chunk = hex.slice(i, i + 32);
    const bytes = chunk.match(/../g) || [];
    const ascii = bytes.map((b) => {
      const c = parseInt(b, 16);
      return c >= 32 && c < 127 ? String.fromCharCode(c) : '.';
    });
    lines.push(`${(i / 2).toString(16).padStart(8, '0')}  ${bytes.join(' ').padEnd(47)}  ${ascii.join('')}`);
  }
  return lines.join('\n');
}

function renderData() {
  const n = state.node;
  const pre = $('node-data');
  if (!n) return;
  if (n.dataError) {
    pre.textContent = `(${n.dataError}: no read permission with the current credentials)`;
    return;
  }
  if (n.nullData) {
    pre.textContent = '(null data)';
    return;
  }
  if (state.view === 'hex') pre.textContent = hexDump(n.hex);
  else if (state.view === 'json') {
    const j = n.text === null ? null : prettyJson(n.text);
    pre.textContent = j === null ? '(not JSON)' : j;
  } else pre.textContent = n.text === null ? '(binary data: see Hex)' : n.text;
}

const PERMS = 'rwcda';
function permsText(p) {
  // ZooKeeper's bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16; zkCli prints them as cdrwa.
  let s = '';
  if (p & 4) s += 'c';
  if (p & 8) s += 'd';
  if (p & 1) s += 'r';
  if (p & 2) s += 'w';
  if (p & 16) s += 'a';
  return s;
}
function permsValue(text) {
  let v = 0;
  for (const ch of text) {
    const i = PERMS.indexOf(ch);
    if (i < 0) throw new Error(`unknown permission "${ch}" (use cdrwa)`);
    v |= [1, 2, 4, 8, 16][i];
  }
  return v;
}

function renderNode(resetEditor) {
  const n = state.node;
  $('node-path').textContent = n.path;
  renderData();
  const stat = $('stat');
  stat.replaceChildren(
    ...Object.entries(n.stat).map(([k, v]) =>
      el(
        'tr',
        { dataset: { field: k } },
        el('th', {}, k),
        el('td', { class: 'mono' }, k.endsWith('time') ? `${v} (${new Date(v).toISOString()})` : v),
      ),
    ),
  );
  $('acl').replaceChildren(
    el('tr', {}, el('th', {}, 'scheme'), el('th', {}, 'id'), el('th', {}, 'perms')),
    ...n.acl.map((a) =>
      el(
        'tr',
        {},
        el('td', {}, a.scheme),
        el('td', { class: 'mono' }, a.id),
        el('td', { class: 'mono' }, permsText(a.perms)),
      ),
    ),
  );
  if (resetEditor) {
    $('editor').value = n.text ?? n.hex ?? '';
    $('editor-encoding').value = n.text === null && n.hex !== null ? 'hex' : 'text';
    $('acl-editor').value = n.acl.map((a) => `${a.scheme}:${a.id}:${permsText(a.perms)}`).join('\n');
  }
}

async function loadNode(resetEditor) {
  try {
    const n = await api('node', { path: state.selected });
    const changed =
      !state.node ||
      state.node.path !== n.path ||
      state.node.stat.mzxid !== n.stat.mzxid ||
      state.node.stat.aversion !== n.stat.aversion;
    state.node = n;
    renderNode(resetEditor || changed);
  } catch (e) {
    state.node = null;
    $('node-path').textContent = state.selected;
    $('node-data').textContent = '';
    $('stat').replaceChildren();
    $('acl').replaceChildren();
    message(`${state.selected}: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------- live panels

function table(target, head, rows) {
  target.replaceChildren(
    el('tr', {}, ...head.map((h) => el('th', {}, h))),
    ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', { class: 'mono' }, c)))),
  );
}

async function refreshPanels() {
  try {
    const [{ sessions }, { watches }, ens] = await Promise.all([
      api('sessions'),
      api('watches'),
      api('ensemble'),
    ]);
    table(
      $('sessions'),
      ['session', 'timeout (ms)', 'client', 'ephemerals'],
      sessions.map((s) => [s.id, s.timeoutMs, s.remote ?? '-', s.ephemerals.join('\n')]),
    );
    table(
      $('watches'),
      ['path', 'sessions'],
      watches.map((w) => [w.path, w.sessions.join(' ')]),
    );
    table(
      $('ensemble'),
      ['id', 'address', 'mode', 'zxid', 'lag'],
      ens.members.map((m) => [m.id, m.address, m.mode, m.zxid, m.lag]),
    );
  } catch (e) {
    message(e.message, 'error');
  }
}

function drawChart(canvas, values, color) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...values);
  ctx.fillStyle = '#5b6577';
  ctx.font = '11px sans-serif';
  ctx.fillText(String(Math.round(max * 10) / 10), 4, 12);
  ctx.fillText(String(values.length ? Math.round(values[values.length - 1] * 10) / 10 : 0), w - 40, 12);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = values.length > 1 ? (i / (values.length - 1)) * (w - 8) + 4 : 4;
    const y = h - 6 - (v / max) * (h - 24);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

async function refreshStats() {
  const s = await api('stats');
  $('summary').textContent =
    `${s.mode} · zxid ${s.zxid} · ${s.nodeCount} znodes · ${s.connections} connections · outstanding ${s.outstanding}`;
  const prev = state.lastStats;
  if (prev) {
    const secs = Math.max(0.001, (s.time - prev.time) / 1000);
    state.samples.push({
      throughput: Math.max(0, s.packetsReceived - prev.packetsReceived) / secs,
      latency: s.avgLatency,
      outstanding: s.outstanding,
    });
    if (state.samples.length > 120) state.samples.shift();
  }
  state.lastStats = s;
  drawChart(
    $('chart-throughput'),
    state.samples.map((x) => x.throughput),
    '#2f6fdd',
  );
  drawChart(
    $('chart-latency'),
    state.samples.map((x) => x.latency),
    '#b35c00',
  );
  drawChart(
    $('chart-outstanding'),
    state.samples.map((x) => x.outstanding),
    '#1e8e3e',
  );
}

async function tick() {
  try {
    await refreshStats();
    await refreshPanels();
    await loadNode(false);
    await renderTree();
  } catch (e) {
    message(e.message, 'error');
  } finally {
    setTimeout(tick, 1000);
  }
}

// ---------------------------------------------------------------- actions

async function run(what, fn) {
  try {
    const r = await fn();
    message(`${what}: done${r?.stat ? ` (version ${r.stat.version})` : ''}`, 'ok');
    return r;
  } catch (e) {
    message(`${what}: ${e.code ? `${e.code}: ` : ''}${e.message}`, 'error');
    return undefined;
  }
}

function bind() {
  for (const b of document.querySelectorAll('.tabs button')) {
    b.addEventListener('click', () => {
      for (const x of document.querySelectorAll('.tabs button')) x.classList.toggle('active', x === b);
      for (const t of document.querySelectorAll('.tab'))
        t.classList.toggle('active', t.id === `tab-${b.dataset.tab}`);
    });
  }
  for (const b of document.querySelectorAll('.views button')) {
    b.addEventListener('click', () => {
      state.view = b.dataset.view;
      for (const x of document.querySelectorAll('.views button')) x.classList.toggle('active', x === b);
      renderData();
    });
  }
  $('auth-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.auth = $('auth').value.trim();
    sessionStorage.setItem('zk-auth', state.auth);
    $('auth-state').textContent = state.auth ? `as ${state.auth.split(':')[0]}` : 'anonymous';
    void loadNode(true);
  });
  $('auth-state').textContent = state.auth ? `as ${state.auth.split(':')[0]}` : 'anonymous';
  $('save').addEventListener('click', async () => {
    if (!state.node) return;
    const r = await run(`setData ${state.node.path}`, () =>
      write({
        op: 'setData',
        path: state.node.path,
        data: $('editor').value,
        encoding: $('editor-encoding').value,
        version: state.node.stat.version,
      }),
    );
    if (r) await loadNode(true);
  });
  $('delete').addEventListener('click', async () => {
    if (!state.node || state.node.path === '/') return;
    const path = state.node.path;
    const r = await run(`delete ${path}`, () =>
      write({ op: 'delete', path, version: state.node.stat.version }),
    );
    if (r) select(path.slice(0, path.lastIndexOf('/')) || '/');
  });
  $('create').addEventListener('click', async () => {
    if (!state.node) return;
    const name = $('child-name').value.trim();
    if (!name) return message('a child needs a name', 'error');
    const r = await run(`create ${childPath(state.node.path, name)}`, () =>
      write({ op: 'create', path: childPath(state.node.path, name), data: '', mode: $('child-mode').value }),
    );
    if (r) {
      state.expanded.add(state.node.path);
      select(r.path);
    }
  });
  $('save-acl').addEventListener('click', async () => {
    if (!state.node) return;
    let acl;
    try {
      acl = $('acl-editor')
        .value.split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => {
          const i = l.lastIndexOf(':');
          const j = l.indexOf(':');
          if (i <= j) throw new Error(`"${l}" is not scheme:id:perms`);
          return { scheme: l.slice(0, j), id: l.slice(j + 1, i), perms: permsValue(l.slice(i + 1)) };
        });
    } catch (e) {
      return message(e.message, 'error');
    }
    const r = await run(`setACL ${state.node.path}`, () =>
      write({ op: 'setACL', path: state.node.path, acl, version: state.node.stat.aversion }),
    );
    if (r) await loadNode(true);
  });
  $('search-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('search').value.trim();
    const list = $('search-results');
    if (!q) return list.replaceChildren();
    try {
      const { paths, truncated } = await api('search', { q });
      const items = paths.map((p) => el('li', {}, el('a', { href: `#${p}` }, p)));
      if (truncated) items.push(el('li', {}, '…more'));
      if (paths.length === 0) items.push(el('li', {}, 'no match'));
      list.replaceChildren(...items);
    } catch (e) {
      message(e.message, 'error');
    }
  });
  window.addEventListener('hashchange', () => {
    // A result stays while the page moves to where the action led; older ones go.
    if (Date.now() - (state.messageAt || 0) > 1000) message('');
    void showSelected();
  });
}

bind();
void showSelected().then(tick);
