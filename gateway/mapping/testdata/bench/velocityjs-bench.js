// Renders template.vtl with body.json in velocityjs (the engine
// serverless-offline uses), with $input/$util/$context built per request the
// way serverless-offline builds them, and prints renders per second.
// Usage: node velocityjs-bench.js [iterations]
'use strict';
const fs = require('fs');
const path = require('path');
const { parse, Compile } = require('velocityjs');

const tpl = fs.readFileSync(path.join(__dirname, 'template.vtl'), 'utf8');
const rawBody = fs.readFileSync(path.join(__dirname, 'body.json'), 'utf8');
const iterations = Number(process.argv[2] || 3000);

// The JSONPath subset the template uses ($ and $.a.b), simpler (so faster)
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

const headers = { Authorization: 'Bearer abc', 'Content-Type': 'application/json' };
const asts = parse(tpl);

function render() {
  const body = JSON.parse(rawBody);
  const params = { path: {}, querystring: {}, header: headers };
  const context = {
    context: { requestId: 'r-1', stage: 'prod', identity: { sourceIp: '1.2.3.4' } },
    input: {
      body: rawBody,
      json: (p) => JSON.stringify(jsonPath(body, p)),
      path: (p) => jsonPath(body, p),
      params: (name) => (name === undefined ? params : params.path[name] ?? params.querystring[name] ?? params.header[name] ?? ''),
    },
    util: {
      escapeJavaScript,
      urlEncode: encodeURIComponent,
      urlDecode: decodeURIComponent,
      base64Encode: (s) => Buffer.from(String(s)).toString('base64'),
      base64Decode: (s) => Buffer.from(String(s), 'base64').toString(),
      parseJson: JSON.parse,
    },
    stageVariables: {},
  };
  return new Compile(asts, { escape: false }).render(context);
}

const out = render();
const parsed = JSON.parse(out);
if (parsed.count !== 100 || parsed.items.length !== 100) {
  throw new Error('unexpected output:\n' + out);
}
for (let i = 0; i < 200; i++) render(); // warm up the JIT
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) render();
const ns = Number(process.hrtime.bigint() - start);
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const version = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules/velocityjs/package.json'), 'utf8')).version;
console.log(`velocityjs ${version} (node ${process.version}): ${iterations} renders, ${(ns / iterations / 1000).toFixed(1)} us/render, ${Math.round(iterations / (ns / 1e9))} renders/s, ${Math.round(iterations / cpuSeconds)} renders/cpu-s`);
