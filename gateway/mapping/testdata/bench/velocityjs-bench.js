// The velocityjs side of compare/ (make bench-mapping): renders the templates
// of cases.json with velocityjs (the engine serverless-offline uses), with
// $input/$util/$context built per render the way serverless-offline builds
// them per request, and measures batches of renders in this process's CPU
// time (process.cpuUsage: user and system, all threads, so garbage
// collection and the JIT's compiler threads included).
//
// It serves compare/ over stdin/stdout, one JSON object per line:
//   {"op":"version"}              -> {"velocityjs":"2.1.7","node":"v20..."}
//   {"op":"render","case":"x"}    -> {"out":"..."} (one render's output)
//   {"op":"run","case":"x","n":N} -> {"cpuUs":..,"wallNs":..} (N renders)
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { parse, Compile } = require('velocityjs');

const dir = __dirname;
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));

// The JSONPath subset the templates use ($ and $.a.b), simpler (so faster)
// than the jsonpath-plus serverless-offline calls.
function jsonPath(obj, p) {
  if (p === '$') return obj;
  return p.slice(2).split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

// Commons Lang escapeJavaScript, as serverless-offline's jsEscapeString.
function escapeJavaScript(s) {
  return String(s).replace(/[\\'"\/\b\f\n\r\t\u0000-\u001f\u0080-\uffff]/g, (c) => {
    switch (c) {
      case '\\': case '\'': case '"': case '/': return '\\' + c;
      case '\b': return '\\b';
      case '\f': return '\\f';
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      default: return '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    }
  });
}

const util = {
  escapeJavaScript,
  urlEncode: encodeURIComponent,
  urlDecode: decodeURIComponent,
  base64Encode: (s) => Buffer.from(String(s)).toString('base64'),
  base64Decode: (s) => Buffer.from(String(s), 'base64').toString(),
  parseJson: JSON.parse,
};

// copy is a fresh copy of a request's small $context object, as a server
// builds one per request (the Go side builds its $context per render too).
function copy(o) {
  if (o === null || typeof o !== 'object') return o;
  const out = {};
  for (const k of Object.keys(o)) out[k] = copy(o[k]);
  return out;
}

// Each case's template is parsed once (as Portico parses once per
// deployment); a render builds the request's variables and runs Compile.
const cases = new Map();
for (const c of manifest.cases) {
  const asts = parse(fs.readFileSync(path.join(dir, c.template), 'utf8'));
  const rawBody = c.bodyFile ? fs.readFileSync(path.join(dir, c.bodyFile), 'utf8') : (c.body || '');
  const pathParams = c.path || {};
  const query = c.query || {};
  const headers = c.headers || {};
  const stageVariables = c.stageVariables || {};
  const ctx = c.context || {};
  const render = () => {
    const body = rawBody === '' ? {} : JSON.parse(rawBody);
    const params = { path: { ...pathParams }, querystring: { ...query }, header: { ...headers } };
    const context = {
      context: copy(ctx),
      input: {
        body: rawBody,
        json: (p) => JSON.stringify(jsonPath(body, p)),
        path: (p) => jsonPath(body, p),
        params: (name) => (name === undefined ? params : params.path[name] ?? params.querystring[name] ?? params.header[name] ?? ''),
      },
      util,
      stageVariables: { ...stageVariables },
    };
    return new Compile(asts, { escape: false }).render(context);
  };
  cases.set(c.name, render);
}

const version = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/velocityjs/package.json'), 'utf8')).version;
let sink = 0;

function handle(req) {
  if (req.op === 'version') return { velocityjs: version, node: process.version };
  const render = cases.get(req.case);
  if (!render) return { error: `no case ${req.case}` };
  if (req.op === 'render') return { out: render() };
  if (req.op === 'run') {
    const n = req.n | 0;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += render().length;
    const wallNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: cpu.user + cpu.system, wallNs };
  }
  return { error: `unknown op ${req.op}` };
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let res;
  try {
    res = handle(JSON.parse(line));
  } catch (e) {
    res = { error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(res) + '\n');
});
rl.on('close', () => process.exit(sink < 0 ? 1 : 0));
