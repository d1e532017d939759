// Portico's web console: a small single-page app over the admin API.
"use strict";

const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const busy = document.getElementById("busy");
const signOut = document.getElementById("sign-out");
const notice = document.getElementById("notice");
let stopPage = () => {}; // stops the current page's timers and streams

// el builds an element; strings become text (never HTML).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "on") { for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f); }
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function table(headers, rows, attrs) {
  return el("table", attrs, el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))),
    el("tbody", {}, rows));
}

// hiddenHeader is the header of a column of buttons: named for screen readers,
// not shown (the buttons say what they do).
function hiddenHeader(text) { return el("span", { class: "visually-hidden" }, text); }

function showError(msg) {
  errorBox.textContent = msg;
  delete errorBox.dataset.kind;
  errorBox.hidden = false;
}

function clearError() { errorBox.hidden = true; errorBox.textContent = ""; delete errorBox.dataset.kind; }

// notify says that an action succeeded, in a live region that screen readers
// announce ("Stage prod now serves deployment x"); the next action or
// navigation clears it.
function notify(msg) { notice.textContent = msg; }
function clearNotice() { notice.textContent = ""; }

// showSignedOut says that the console's session ended and links to the
// sign-in page, which brings the user back to this page (its hash route) once
// signed in: reloading the page gets the sign-in form, the session being gone.
function showSignedOut() {
  signOut.hidden = true; // no session left to end
  errorBox.replaceChildren("Your console session has ended: it was signed out, its cookie is gone or expired, the server restarted, or its admin token changed. ",
    el("a", { href: location.href, id: "sign-in-again", on: { click: ev => { ev.preventDefault(); location.reload(); } } }, "Sign in again"), ".");
  errorBox.dataset.kind = "signed-out";
  errorBox.hidden = false;
}

// pages reads every page of a paged answer: Lambda's (Marker, NextMarker),
// apigatewayv2's (nextToken) or API Gateway's (position), handing each to take.
async function pages(path, take) {
  const sep = path.includes("?") ? "&" : "?";
  const lambda = path.startsWith("/2015-03-31/"), v2 = path.startsWith("/v2/");
  let next = "";
  for (let i = 0; i < 1000; i++) {
    const page = await api("GET", path + (lambda ? sep + "MaxItems=1000" + (next ? "&Marker=" + enc(next) : "")
      : v2 ? sep + "maxResults=500" + (next ? "&nextToken=" + enc(next) : "")
        : sep + "limit=500" + (next ? "&position=" + enc(next) : "")));
    take(page);
    next = lambda ? page.NextMarker : v2 ? page.nextToken : page.position;
    if (!next) break;
  }
}

// all fetches every page of a paged list. key names the list in each answer.
async function all(path, key) {
  const items = [];
  await pages(path, page => items.push(...(page[key] || [])));
  return items;
}

// apiBase is where the console calls the admin API: /console/api/{route} is
// served as /{route}, so that the session cookie (Path=/console/) is sent
// nowhere else on this host, the gateway's ports included.
const apiBase = "/console/api";

// idempotent reports whether a call of method may be made twice to the same
// effect: one that got no answer is tried again once.
const idempotent = method => method === "GET" || method === "HEAD";

// unreachable shows (and returns) the error for a call that got no answer: the
// request failed at the network level. The server may be down, or the
// connection was lost under a server that is up: a browser aborts every
// request in flight when the machine's network changes (a VPN, Wi-Fi, a
// container starting or stopping: "net::ERR_NETWORK_CHANGED"). A request for
// the console's stylesheet, which needs no session, tells the two apart.
async function unreachable(method, path) {
  const call = `${method} ${path.split("?")[0]}`;
  let up = false;
  try { up = (await fetch(Prefix + "console.css", { method: "HEAD", cache: "no-store" })).status > 0; } catch (e) { /* no answer */ }
  const msg = !up ? `Cannot reach the admin API (${call}): is portico serve running?`
    : `The admin API's answer to ${call} was lost: the server answers, but this call's connection failed (a change of this machine's network, such as a VPN, Wi-Fi or a container starting, does that). ` +
      (idempotent(method) ? "Reload the page to read it again." : "It may have been carried out: reload the page to see before you try again.");
  showError(msg);
  const err = new Error(msg);
  err.unanswered = true;
  err.up = up;
  return err;
}

// Prefix is where the console is served; apiBase below it.
const Prefix = "/console/";

// api calls the admin API and returns the decoded JSON (or text); an error
// answer shows the API's message on the page and throws, and so does a call
// that gets no answer at all (a GET after a second try: see unreachable).
async function api(method, path, body, raw) {
  const opts = { method, headers: { "X-Portico-Console": "1" } };
  if (body !== undefined) {
    opts.body = typeof body === "string" ? body : JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  let resp, text;
  for (let attempt = 1; ; attempt++) {
    try {
      resp = await fetch(apiBase + path, opts);
      text = await resp.text();
      break;
    } catch (e) {
      if (idempotent(method) && attempt < 2) continue;
      throw await unreachable(method, path);
    }
  }
  // "Sign out" is offered where there is a session to end: the server says
  // whether this call was signed in with the console's cookie.
  signOut.hidden = resp.headers.get("X-Portico-Console-Session") !== "cookie";
  if (!resp.ok) {
    let msg = text, reason = "";
    try { const j = JSON.parse(text); msg = j.message || j.Message || text; reason = typeof j.Reason === "string" ? j.Reason : ""; } catch (e) { /* not JSON */ }
    const type = (resp.headers.get("x-amzn-ErrorType") || "").split(":")[0];
    if (sessionEnded(resp, msg)) {
      // The API's advice is for the CLI, not for here.
      showSignedOut();
      throw new Error(msg);
    }
    msg = forConsole(msg);
    // Lambda's Reason says which limit a 429 hit (the message is only "Rate Exceeded.").
    showError(`${msg}${reason ? " Reason: " + reason + "." : ""} (${resp.status}${type ? " " + type : ""} from ${method} ${path.split("?")[0]})`);
    const err = new Error(msg);
    err.status = resp.status;
    err.reason = reason;
    throw err;
  }
  if (raw) return { text, headers: resp.headers, status: resp.status };
  return text ? JSON.parse(text) : null;
}

// forConsole rewords the advice of a refusal written for the CLI where the
// console does otherwise: a stage's action refused as stale (409, 404)
// reloads the stage on its own, and the console names no deployment "none".
function forConsole(msg) {
  return msg
    .replace("; reload, and decide on what it serves now", "; the page now shows what it serves: decide on that")
    .replace("; read the stage again and decide on what it is now", "; the page now shows the stage as it is: decide on that")
    .replace(", or name none to take the newest one left", "");
}

// sessionEnded reports whether resp, an error answer with message msg, says
// that the console's session no longer holds (the cookie is gone or expired,
// signed out, the server restarted, or its token changed).
function sessionEnded(resp, msg) {
  const type = (resp.headers.get("x-amzn-ErrorType") || "").split(":")[0];
  return resp.status === 401 || (resp.status === 403 && (type === "AccessDeniedException" || type === "MissingAuthenticationTokenException") && /admin token/.test(msg));
}

// enc encodes a name as a path segment: "." and ".." too, which a URL would
// otherwise take as the path's own steps (a call to another route).
const enc = s => s === "." || s === ".." ? s.replace(/\./g, "%2E") : encodeURIComponent(s);

// reloadIfStale reloads the page's data after a change that failed because
// the page no longer matches the server (another tab, the CLI or a client
// changed it: 400 "no canary", 404 gone, 409 conflict, 410 not connected), so
// that what it shows and offers is the server's state again; the error stays
// shown above.
function reloadIfStale(e) {
  if (isStale(e)) route();
}

function isStale(e) { return [400, 404, 409, 410].includes(e && e.status); }

// sh writes s as one word of a shell command the page offers to copy: as it
// is when a shell takes it so (letters, digits and /._+-, as portico's own
// commands are printed), else in single quotes ("$default" would otherwise
// expand to nothing).
function sh(s) {
  s = String(s);
  return /^[A-Za-z0-9\/._+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}

// ---- functions ----

async function functionsPage() {
  const fns = await all("/2015-03-31/functions", "Functions");
  if (fns.length === 0) {
    return [el("h1", {}, "Functions"), el("p", { class: "muted" }, "No functions yet: create one with ",
      el("code", {}, "portico fn create NAME --zip FILE"), ".")];
  }
  const rows = fns.map(f => el("tr", { "data-function": f.FunctionName },
    el("td", {}, el("a", { href: "#/functions/" + enc(f.FunctionName) }, f.FunctionName)),
    el("td", { class: "long" }, f.Description || ""), el("td", {}, f.PackageType || ""), el("td", {}, f.MemorySize),
    el("td", {}, f.Timeout), el("td", { class: "when" }, when(f.LastModified))));
  const count = el("span", { class: "muted", id: "function-count" }, functionsCount(fns.length));
  const filter = el("input", { type: "search", id: "function-filter", placeholder: "Filter by name or description",
    "aria-label": "Filter functions by name or description",
    on: { input: () => {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      rows.forEach((r, i) => {
        const hit = !q || fns[i].FunctionName.toLowerCase().includes(q) || (fns[i].Description || "").toLowerCase().includes(q);
        r.hidden = !hit;
        if (hit) shown++;
      });
      count.textContent = q ? `${shown} of ${functionsCount(fns.length)}` : functionsCount(fns.length);
    } } });
  return [el("h1", {}, "Functions"), el("p", {}, filter, " ", count),
    table(["Name", "Description", "Package", "Memory (MB)", "Timeout (s)", "Last modified"], rows, { id: "functions" })];
}

// functionsCount is "1 function", "2 functions".
function functionsCount(n) { return n === 1 ? "1 function" : `${n} functions`; }

async function functionPage(name) {
  const path = "/2015-03-31/functions/" + enc(name);
  const [fn, versionList, aliasList] = await Promise.all([
    api("GET", path), all(path + "/versions", "Versions"), all(path + "/aliases", "Aliases")]);
  const versions = { Versions: versionList }, aliases = { Aliases: aliasList };
  const cfg = fn.Configuration || fn;
  const payload = el("textarea", { id: "payload" }, "{}");
  const qualifier = el("select", { id: "qualifier" },
    el("option", { value: "" }, "$LATEST"),
    (aliases.Aliases || []).map(a => el("option", { value: a.Name }, "alias " + a.Name)),
    (versions.Versions || []).filter(v => v.Version !== "$LATEST").map(v => el("option", { value: v.Version }, "version " + v.Version)));
  const result = el("pre", { id: "invoke-result", role: "status", "aria-live": "polite" }, "");
  // Which version ran (Lambda's X-Amz-Executed-Version, the AWS CLI's
  // ExecutedVersion): for an alias that splits its calls, the one thing a
  // test of the shift wants to see.
  const ran = el("p", { id: "executed-version", role: "status" }, "");
  // limit says how long a call to the qualifier may run: the timeout of the
  // version it runs ($LATEST's for none), or for an alias the longest timeout
  // of the versions it routes calls to (their timeouts may differ).
  const timeoutOf = v => ((versions.Versions || []).find(x => x.Version === v) || cfg).Timeout;
  const limit = q => {
    const a = (aliases.Aliases || []).find(x => x.Name === q);
    if (!a) return `up to its ${timeoutOf(q || "$LATEST")} s timeout`;
    const ts = [a.FunctionVersion, ...Object.keys((a.RoutingConfig && a.RoutingConfig.AdditionalVersionWeights) || {})].map(timeoutOf);
    const most = Math.max(...ts);
    return ts.every(t => t === most) ? `up to its ${most} s timeout` : `up to ${most} s, the longest timeout of the alias's versions`;
  };
  // While a call runs the button is aria-disabled, not disabled: a disabled
  // button loses the keyboard focus (to the document's start), and the user
  // would have to Tab back from the top.
  const invoke = async (ev) => {
    const button = ev.currentTarget;
    if (button.getAttribute("aria-disabled") === "true") return;
    clearError();
    clearNotice();
    const q = qualifier.value ? "?Qualifier=" + enc(qualifier.value) : "";
    result.textContent = `Invoking ${name}${qualifier.value ? ":" + qualifier.value : ""}… (${limit(qualifier.value)}, and a cold start)`;
    result.dataset.status = "running";
    ran.textContent = "";
    button.setAttribute("aria-disabled", "true");
    try {
      // A leading byte order mark (pasted from some editors) is no JSON; a
      // payload of white space only is none, as an empty one is.
      const body = payload.value.replace(/^\uFEFF/, "");
      const r = await api("POST", path + "/invocations" + q, body.trim() ? body : "", true);
      const fe = r.headers.get("X-Amz-Function-Error"), v = r.headers.get("X-Amz-Executed-Version");
      const alias = (aliases.Aliases || []).some(a => a.Name === qualifier.value);
      if (v) ran.textContent = `Version ${v} ran${alias ? " (alias " + qualifier.value + ")" : ""}.`;
      // A function error's JSON ({"errorMessage": ...}, which aws-lambda-go
      // writes with <, > and & escaped) is shown indented, its strings
      // decoded, its numbers and keys as the function wrote them.
      let shown = r.text;
      if (fe) try { shown = indentJSON(r.text); } catch (e) { /* not JSON: as it is */ }
      result.textContent = (fe ? "Function error (" + fe + "):\n" : "") + shown;
      result.dataset.status = fe ? "error" : "ok";
    } catch (e) {
      result.textContent = (e && e.unanswered && e.up ? "The invocation's answer was lost: the function may have run (see its log below)." : "The invocation failed: see the message above.") + (e && e.reason === "ReservedFunctionConcurrentInvocationLimitExceeded" ? " " + throttled() : "");
      result.dataset.status = "failed";
      // The function, alias or version is gone since the page loaded: show
      // the server's state. (Not reloadIfStale: a 400 is a bad payload, which
      // a reload would throw away.)
      if (e && e.status === 404) route(true);
    } finally {
      button.removeAttribute("aria-disabled");
    }
  };
  // A reservation of 0 switches the function off, on purpose: the page says so.
  const reserved = fn.Concurrency ? fn.Concurrency.ReservedConcurrentExecutions : undefined;
  const throttled = () => reserved === 0
    ? `The function's reserved concurrency is 0: it takes no calls until that is lifted (aws lambda delete-function-concurrency --function-name ${sh(name)}) or raised (aws lambda put-function-concurrency).`
    : `Every one of the function's reserved concurrent executions${reserved !== undefined ? " (" + reserved + ")" : ""} is in use: try again once a call ends, or raise its reserved concurrency (aws lambda put-function-concurrency).`;
  const logs = el("pre", { id: "logs" }, "");
  const env = (cfg.Environment && cfg.Environment.Variables) || {};
  // The function deleted under the page (its log answers 404): the page says
  // so and offers no invocation; the live log goes on reading, slowly, and
  // once the function is there again (created anew) the page shows it anew.
  const goneNote = el("p", { id: "function-gone", class: "error", role: "status", hidden: true });
  const invokeForm = el("div", { id: "invoke-form" },
    el("div", {}, el("label", { for: "qualifier" }, "Qualifier "), qualifier),
    el("div", {}, el("label", { for: "payload" }, "Payload (JSON)")), payload, el("div", {}, el("button", { id: "invoke", on: { click: invoke } }, "Invoke")), result, ran);
  const gone = () => {
    goneNote.textContent = `Function ${name} no longer exists: it was deleted after this page loaded, so the page offers no invocation and shows what it was. If a function ${name} is created again, this page shows it.`;
    goneNote.hidden = false;
    invokeForm.hidden = true;
  };
  const back = () => {
    route().then(() => { if (document.body.dataset.page === "functions/" + name) notify(`Function ${name} exists again: the page shows it as it is now.`); });
  };
  return { start: () => tailLogs(name, logs, gone, back), children: [
    el("h1", {}, "Function ", el("span", { id: "function-name" }, name)), goneNote,
    cfg.Description ? el("p", { id: "function-description" }, cfg.Description) : "",
    el("h2", {}, "Configuration"),
    table(["Runtime", "Handler", "Memory", "Timeout", ...(reserved !== undefined ? ["Reserved concurrency"] : []), "Code", "Environment"], [el("tr", {},
      el("td", {}, cfg.Runtime || ""), el("td", {}, cfg.Handler || ""), el("td", {}, cfg.MemorySize + " MB"),
      el("td", {}, cfg.Timeout + " s"),
      reserved !== undefined ? el("td", { id: "reserved-concurrency" }, reserved === 0 ? "0 (the function takes no calls)" : reserved) : "",
      el("td", { class: "long" }, cfg.CodeSha256 || cfg.PackageType || ""),
      el("td", { class: "long", id: "env-names" }, Object.keys(env).sort().join(", ") || "—"))]),
    envValues(env),
    el("h2", {}, "Aliases"),
    (aliases.Aliases || []).length === 0 ? el("p", { class: "muted" }, "No aliases.") :
      table(["Alias", "Version", "Weights"], (aliases.Aliases || []).map(a => el("tr", { "data-alias": a.Name },
        el("td", {}, a.Name), el("td", {}, a.FunctionVersion),
        el("td", { class: "weights long" }, weights(a)))), { id: "aliases" }),
    el("h2", {}, "Invoke"), invokeForm,
    el("h2", {}, "Logs (live)"), logs,
    // The versions come last: a function may have hundreds.
    el("h2", {}, "Versions"),
    table(["Version", "Description", "Code SHA-256", "Last modified"],
      (versions.Versions || []).map(v => el("tr", { "data-version": v.Version }, el("td", {}, v.Version),
        el("td", { class: "long" }, v.Description || ""), el("td", { class: "long" }, v.CodeSha256 || ""), el("td", { class: "when" }, when(v.LastModified)))), { id: "versions" })] };
}

// indentJSON indents the JSON text t (and throws if t is no JSON) keeping
// what it says: each string is decoded and written again ("\u003cb\u003e"
// reads "<b>", which is the same string), but numbers are kept as they are
// written (12345678901234567890 and 1.0, which JSON.parse would round or
// shorten) and so are an object's keys, repeated ones too (which JSON.parse
// would drop), so that what the page shows is what the function returned.
function indentJSON(t) {
  JSON.parse(t); // JSON, or throw
  const tokens = t.match(/"(?:[^"\\]|\\[\s\S])*"|[{}[\],:]|[^\s{}[\],:"]+/g) || [];
  let out = "", depth = 0;
  const line = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok === "{" || tok === "[") {
      if (tokens[i + 1] === (tok === "{" ? "}" : "]")) { out += tok + tokens[++i]; continue; } // {} and [] on one line
      depth++;
      out += tok + line();
    } else if (tok === "}" || tok === "]") {
      depth--;
      out += line() + tok;
    } else if (tok === ",") out += "," + line();
    else if (tok === ":") out += ": ";
    else if (tok[0] === "\"") out += JSON.stringify(JSON.parse(tok));
    else out += tok;
  }
  return out;
}

// envValues is a function's environment values behind a Show values button:
// they may be secrets (and up to 4 KB), so the page names the variables only
// and puts the values in the page when asked, never in a list page.
function envValues(env) {
  const names = Object.keys(env).sort();
  if (names.length === 0) return "";
  const box = el("div", { id: "env-values" });
  const button = el("button", { id: "reveal-env", "aria-expanded": "false", "aria-controls": "env-values", on: { click: () => {
    const shown = button.getAttribute("aria-expanded") === "true";
    box.replaceChildren(...(shown ? [] : [table(["Variable", "Value"], names.map(k => el("tr", { "data-variable": k },
      el("td", {}, k), el("td", { class: "long env-value" }, env[k]))))]));
    button.setAttribute("aria-expanded", String(!shown));
    button.textContent = shown ? "Show environment values" : "Hide environment values";
  } } }, "Show environment values");
  return el("div", {}, button, box);
}

// percent writes a weight (0 to 1) as a percentage, as precisely as the
// weight is given (0.255: "25.5%"), to a millionth.
function percent(w) { return String(Math.round(w * 1e6) / 1e4) + "%"; }

// weights says how an alias splits its calls: its version's share and each
// additional version's; "—" when its version takes them all.
function weights(a) {
  const extra = Object.entries((a.RoutingConfig && a.RoutingConfig.AdditionalVersionWeights) || {});
  if (extra.length === 0) return "—";
  const rest = 1 - extra.reduce((n, [, w]) => n + w, 0);
  return [[a.FunctionVersion, rest], ...extra].map(([v, w]) => `${v}: ${percent(w)}`).join(", ");
}

// logText decodes a read of the log. A read of the log's end (tail: no
// cursor, or one the server did not take) begins at a whole line (the server
// starts it there), but for a last line longer than the read: that begins
// mid-line and maybe mid-character, so unless the read is the whole log (the
// cursor, the place after it, is no further than its length), it starts at
// its first whole character.
function logText(buf, resp, tail) {
  const at = Number((resp.headers.get("X-Portico-Log-Cursor") || "").split(".").pop());
  if (resp.ok && tail && at > buf.length) {
    const from = buf.findIndex(b => (b & 0xc0) !== 0x80);
    buf = buf.subarray(from < 0 ? buf.length : from);
  }
  return new TextDecoder().decode(buf);
}

// tailLogs shows the function's log (its last 8 KB) and follows it by short
// reads: every second while the tab is shown, each read takes what was written
// since the last one (the place the server named in X-Portico-Log-Cursor). No
// connection stays open, so that any number of console tabs work (a browser
// opens 6 connections at most to a host, and the server holds 8 follows per
// client), and a hidden tab reads nothing until it is shown again, then
// catches up. A 404 (the function deleted) calls gone and the reads go on,
// every 3 s; once one is answered (the function created again) back is called.
function tailLogs(name, pre, gone, back) {
  const url = apiBase + "/portico/v1/functions/" + enc(name) + "/logs?bytes=";
  let cursor = "", timer = 0, reading = null, stopped = false, down = false, signedOut = false, missing = false;
  const append = text => {
    pre.textContent += text;
    if (pre.textContent.length > 65536) pre.textContent = pre.textContent.slice(-32768);
    pre.scrollTop = pre.scrollHeight;
  };
  const note = text => append((pre.textContent && !pre.textContent.endsWith("\n") ? "\n" : "") + text + "\n");
  const shown = () => document.visibilityState === "visible";
  const schedule = () => {
    if (!stopped && !timer && !reading && shown()) timer = setTimeout(read, down || signedOut || missing ? 3000 : 1000);
  };
  const read = async () => {
    timer = 0;
    const ctl = new AbortController();
    reading = ctl;
    try {
      const resp = await fetch(url + (cursor ? "65536&after=" + enc(cursor) : "8192"),
        { signal: ctl.signal, cache: "no-store", headers: { "X-Portico-Console": "1" } });
      const text = logText(new Uint8Array(await resp.arrayBuffer()), resp, !cursor || resp.headers.get("X-Portico-Log-Reset") === "true");
      if (stopped) return;
      let msg = text;
      if (!resp.ok) try { const j = JSON.parse(text); msg = j.message || j.Message || text; } catch (e) { /* not JSON */ }
      if (!resp.ok && sessionEnded(resp, msg)) {
        // As api(): the notice and its link, not the CLI's advice; the log
        // goes on once signed in again (here or in another tab).
        if (!signedOut) note("[The console's session has ended: sign in again, and the live log goes on.]");
        signedOut = true;
        down = false;
        showSignedOut();
        pre.dataset.status = "signed-out";
      } else if (resp.status === 404) {
        if (!missing) {
          note(`[The function no longer exists (${msg}): the log goes on if it is created again.]`);
          gone();
        }
        missing = true;
        pre.dataset.status = "gone";
      } else if (!resp.ok) {
        note(`[The log cannot be read (${resp.status}): ${msg}]`);
        pre.dataset.status = "error";
        // Throttled or a server error: try again; otherwise reading again
        // would get the same answer (the function is gone).
        if (resp.status !== 429 && resp.status < 500) { stopped = true; return; }
        down = true;
      } else {
        signOut.hidden = resp.headers.get("X-Portico-Console-Session") !== "cookie"; // as api()
        if (missing) { stopped = true; back(); return; } // created again: the page shows it anew
        if (down) note("[The admin API answers again: the live log goes on.]");
        if (signedOut) {
          note("[Signed in again: the live log goes on.]");
          if (errorBox.dataset.kind === "signed-out") clearError();
          signedOut = false;
        }
        if (cursor && resp.headers.get("X-Portico-Log-Reset") === "true") note("[The server restarted: the end of the log follows.]");
        down = false;
        append(text);
        cursor = resp.headers.get("X-Portico-Log-Cursor") || cursor;
        pre.dataset.status = "live";
      }
    } catch (e) {
      if (stopped) return;
      if (!down) note("[The live log cannot reach the admin API (is portico serve running?): it goes on when the server answers again.]");
      down = true;
      pre.dataset.status = "error";
    } finally {
      if (reading === ctl) reading = null;
    }
    schedule();
  };
  const visibility = () => {
    if (stopped) return;
    if (!shown()) { clearTimeout(timer); timer = 0; return; }
    if (!timer && !reading) read(); // shown again: catch up at once
  };
  document.addEventListener("visibilitychange", visibility);
  const prev = stopPage;
  stopPage = () => {
    stopped = true;
    clearTimeout(timer);
    if (reading) reading.abort();
    document.removeEventListener("visibilitychange", visibility);
    prev();
  };
  read(); // the log's end, shown or not
}

// ---- APIs ----

async function apisPage() {
  const list = await api("GET", "/portico/v1/apis");
  if (list.items.length === 0) {
    return [el("h1", {}, "APIs"), el("p", { class: "muted" }, "No APIs yet: import one with ", el("code", {}, "portico api import FILE"), ".")];
  }
  // By name as a person sorts them (r2 before r10), as the plans and keys.
  const items = list.items.slice().sort(byName);
  const rows = items.map(a => el("tr", { "data-api": a.id },
    el("td", {}, el("a", { href: "#/apis/" + enc(a.id) }, a.name)), el("td", {}, a.id), el("td", {}, a.protocol),
    el("td", {}, a.routes), el("td", {}, when(a.createdAt))));
  const count = el("span", { class: "muted", id: "api-count" }, apisCount(items.length));
  const none = el("p", { class: "muted", id: "api-none", hidden: true });
  const apisTable = table(["Name", "Id", "Protocol", "Routes", "Created"], rows, { id: "apis" });
  const filter = el("input", { type: "search", id: "api-filter", placeholder: "Filter by name or id",
    "aria-label": "Filter APIs by name or id",
    on: { input: () => {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      rows.forEach((r, i) => {
        const hit = !q || (items[i].name || "").toLowerCase().includes(q) || items[i].id.toLowerCase().includes(q);
        r.hidden = !hit;
        if (hit) shown++;
      });
      count.textContent = q ? `${shown} of ${apisCount(items.length)}` : apisCount(items.length);
      // Nothing matches: say so, in place of a table of no rows.
      none.hidden = !(q && shown === 0);
      apisTable.hidden = !none.hidden;
      none.textContent = none.hidden ? "" : `No API matches “${filter.value.trim()}”: the filter looks for it in names and ids.`;
    } } });
  return [el("h1", {}, "APIs"), el("p", {}, filter, " ", count), none, apisTable];
}

// apisCount is "1 API", "2 APIs".
function apisCount(n) { return n === 1 ? "1 API" : `${n} APIs`; }

// natural orders names as a person does: plan2 before plan10.
const natural = new Intl.Collator(undefined, { numeric: true });

// byName orders APIs, plans and keys by name in natural order, then by id.
function byName(a, b) { return natural.compare(a.name || "", b.name || "") || natural.compare(a.id, b.id); }

async function apiPage(id) {
  const base = "/portico/v1/apis/" + enc(id);
  const was = document.body.dataset.page === "apis/" + id; // the page showed it: it was there
  let a, stages, deployments;
  try {
    [a, stages, deployments] = await Promise.all([api("GET", base), api("GET", base + "/stages"), api("GET", base + "/deployments")]);
  } catch (e) {
    if (!e || e.status !== 404 || !/^API .* not found/.test(e.message)) throw e;
    // The API is gone (deleted after the page loaded, as by the CLI while
    // a question was open) or never was: the page says so in words.
    return [el("h1", {}, "No API ", id), el("p", { id: "api-gone" },
      was ? `API ${id} no longer exists: it was deleted after this page loaded. ` : `There is no API ${id}: it was deleted, or the link names none. `,
      "See ", el("a", { href: "#/apis" }, "the APIs"), ".")];
  }
  // A history entry whose deployment was deleted since cannot be rolled back to.
  const live = new Set((deployments.items || []).map(d => d.id));
  const rest = a.protocol === "REST", ws = a.protocol === "WEBSOCKET";
  // Access control as API Gateway reads it back (authorization type,
  // authorizer, API key), from its own API: REST methods by "METHOD path",
  // apigatewayv2 routes by id.
  const aws = rest ? "/restapis/" + enc(id) : "/v2/apis/" + enc(id);
  const key = rest ? "item" : "items";
  const [access, authorizers, models] = await Promise.all([
    rest ? all(aws + "/resources?embed=methods", key).then(rs => Object.fromEntries(rs.flatMap(r =>
      Object.entries(r.resourceMethods || {}).map(([m, x]) => [m + " " + r.path, x]))))
      : all(aws + "/routes", key).then(rs => Object.fromEntries(rs.map(r => [r.routeId, r]))),
    all(aws + "/authorizers", key), all(aws + "/models", key)]);
  const authorizerName = Object.fromEntries(authorizers.map(x => [x.id || x.authorizerId, x.name]));
  const routeAccess = r => access[rest ? r.method + " " + r.path : r.id] || {};
  const authorization = x => {
    if (!x.authorizationType) return "—";
    const id = x.authorizerId;
    return x.authorizationType + (id ? ` (${authorizerName[id] ? authorizerName[id] + ", " : ""}${id})` : "") +
      ((x.authorizationScopes || []).length ? "; scopes: " + x.authorizationScopes.join(" ") : "");
  };
  const routes = (a.routes || []).map(r => {
    const x = routeAccess(r);
    const name = r.routeKey || ((r.method || "") + " " + (r.path || ""));
    return el("tr", { "data-route": name },
      el("td", { class: "route" }, name),
      el("td", { class: "authorization" }, authorization(x)),
      el("td", { class: "api-key" }, x.apiKeyRequired ? "required" : "no"),
      ws ? el("td", { class: "route-response" }, r.routeResponseSelectionExpression ? "two-way (" + r.routeResponseSelectionExpression + ")" : "one-way") : "",
      el("td", {}, r.integration ? r.integration.type : "—"),
      el("td", { class: "long" }, r.integration ? (r.integration.uri || "") : ""));
  });
  const details = (a.routes || []).map(r => routeDetails(r, ws)).filter(Boolean);
  return [el("h1", {}, a.name, " ", el("span", { class: "muted" }, `(${a.protocol}, ${id})`)),
    a.description ? el("p", {}, a.description) : "",
    ws ? el("p", {}, "Route selection expression: ", el("code", { id: "route-selection" }, a.routeSelectionExpression || "—")) : "",
    el("h2", {}, "Routes"), routes.length === 0 ? el("p", { class: "muted" }, "No routes.") :
      table(["Route", "Authorization", "API key", ...(ws ? ["Route response"] : []), "Integration", "URI"], routes, { id: "routes" }),
    ...details,
    el("h2", {}, "Authorizers"), authorizers.length === 0 ? el("p", { class: "muted" }, "No authorizers.") :
      table(["Name", "Id", "Type", "Identity source"], authorizers.map(x => el("tr", { "data-authorizer": x.id || x.authorizerId },
        el("td", {}, x.name), el("td", {}, x.id || x.authorizerId), el("td", {}, x.type || x.authorizerType),
        el("td", { class: "long" }, [].concat(x.identitySource || []).join(", ")))), { id: "authorizers" }),
    el("h2", {}, "Models"), models.length === 0 ? el("p", { class: "muted" }, "No models.") :
      table(["Name", "Content type", "Description"], models.map(m => el("tr", { "data-model": m.name },
        el("td", {}, m.name), el("td", {}, m.contentType || ""), el("td", { class: "long" }, m.description || ""))), { id: "models" }),
    el("h2", {}, "Stages"), ...(stages.items.length === 0 ? [el("p", { class: "muted" }, "No stages: deploy the API to one (", el("code", {}, "portico api deploy " + sh(id) + " --stage NAME"), ").")] : stages.items.map(st => stageSection(id, a.protocol, st, live)))];
}

// routeDetails shows what a route's integration does with a request and its
// answer (templates, passthrough, integration responses) and, for a
// WebSocket route, its route response; "" when there is nothing to show.
function routeDetails(r, ws) {
  const i = r.integration || {};
  const name = r.routeKey || ((r.method || "") + " " + (r.path || ""));
  const rows = [];
  const row = (what, value) => rows.push(el("tr", {}, el("th", { scope: "row" }, what), el("td", { class: "long" }, value)));
  if (i.passthroughBehavior) row("Passthrough", i.passthroughBehavior);
  if (i.templateSelectionExpression) row("Template selection", i.templateSelectionExpression);
  for (const [type, t] of Object.entries(i.requestTemplates || {})) row("Request template " + type, el("pre", {}, t));
  for (const [pattern, resp] of Object.entries(i.responses || {})) {
    // A WebSocket integration response's key as apigatewayv2 names it.
    const key = !ws ? pattern : pattern === "default" ? "$default" : "/" + pattern + "/";
    row("Integration response " + key, [ws ? "" : "status " + (resp.statusCode || ""),
      resp.templateSelectionExpression ? " template selection " + resp.templateSelectionExpression : "",
      ...Object.entries(resp.responseTemplates || {}).map(([type, t]) => el("div", {}, "template " + type + ": ", el("pre", {}, t)))]);
  }
  if (ws && r.routeResponseSelectionExpression) {
    const rr = (r.responses || {}).default;
    row("Route response", rr ? "$default" + (Object.keys(rr.models || {}).length ? "; models: " + Object.entries(rr.models).map(([k, v]) => k + " " + v).join(", ") : "")
      : "none yet: the route's selection expression is " + r.routeResponseSelectionExpression);
  }
  if (rows.length === 0) return "";
  return el("details", { class: "route-details", "data-route": name }, el("summary", {}, "Integration of ", el("code", {}, name)),
    el("table", {}, el("tbody", {}, rows)));
}

// stageSection shows a stage of an API of protocol (REST, HTTP, WEBSOCKET):
// the response cache and tracing are REST stages' only. live holds the ids of
// the API's deployments: a history entry naming another was deleted.
function stageSection(apiID, protocol, st, live) {
  const base = "/portico/v1/apis/" + enc(apiID) + "/stages/" + enc(st.name);
  // After an action the page shows the stage as it is now, the focus on its
  // heading (where the action's button was, which the new page replaces).
  const reload = () => reloadStage(st.name);
  const staleHere = e => { if (isStale(e)) reload(); };
  // The question names the deployment the stage serves now, read again: the
  // page may be stale (another tab or the CLI changed the stage since), and a
  // rollback would undo that change.
  const rollback = async (dep) => {
    clearError();
    clearNotice();
    let now;
    try { now = await api("GET", base); } catch (e) { staleHere(e); return; }
    if (now.deploymentId === dep) {
      showError(`Stage ${st.name} already serves deployment ${dep}: the page was out of date, and now shows the stage as it is.`);
      reload();
      return;
    }
    if (!confirm(`Roll back stage ${st.name} to deployment ${dep}? It serves deployment ${now.deploymentId} now, and ${dep} at once after this.`)) {
      if (now.deploymentId !== st.deploymentId) reload(); // show what it serves now
      return;
    }
    // Conditional on the deployment the question named: one deployed while
    // it was open is refused (409), not undone unseen.
    try {
      const done = await api("POST", base + "/rollback", { deploymentId: dep, expectedDeploymentId: now.deploymentId });
      await reload();
      notify(`Rolled back stage ${st.name}: it now serves deployment ${done.deploymentId} (it served ${now.deploymentId}).`);
    } catch (e) { staleHere(e); }
  };
  // Promote as API Gateway's console and `portico stage promote` do: the
  // canary's variable overrides merged into the stage's variables, its
  // deployment the stage's, and its share of the traffic 0 (the canary stays).
  // As for a rollback, the question names the canary as it is now, read
  // again (the CLI or another tab may have deployed another canary since the
  // page loaded), and the promotion is conditional on that deployment and
  // those variable overrides (JSON Patch tests): a canary changed after the
  // question is refused (409) rather than promoted untested.
  const promote = async () => {
    clearError();
    clearNotice();
    let now;
    try { now = await api("GET", base); } catch (e) { staleHere(e); return; }
    const c = now.canarySettings;
    if (!c) {
      showError(`Stage ${st.name} has no canary any more: the page was out of date, and now shows the stage as it is.`);
      reload();
      return;
    }
    const was = st.canarySettings || {};
    const overrides = overridesText(c.stageVariableOverrides);
    const changed = c.deploymentId !== was.deploymentId || overrides !== overridesText(was.stageVariableOverrides);
    const question = (changed ? `The canary of stage ${st.name} changed since this page was loaded: it is now as follows. ` : "") +
      `Promote the canary of stage ${st.name}? ` +
      (c.deploymentId === now.deploymentId ? `The stage keeps deployment ${c.deploymentId} (the canary's)` :
        `Deployment ${c.deploymentId} becomes the stage's (it serves ${now.deploymentId} now)`) +
      (overrides ? `, the canary's variable overrides (${overrides}) are merged into the stage's variables` : ", with no variable overrides to merge") +
      ", and the canary gets 0% of the traffic.";
    if (!confirm(question)) {
      if (changed) reload(); // show the canary as it is now
      return;
    }
    try {
      const done = await api("PATCH", "/restapis/" + enc(apiID) + "/stages/" + enc(st.name),
        { patchOperations: [
          { op: "test", path: "/canarySettings/deploymentId", value: c.deploymentId },
          { op: "test", path: "/canarySettings/stageVariableOverrides", value: JSON.stringify(c.stageVariableOverrides || {}) },
          { op: "copy", from: "/canarySettings/stageVariableOverrides", path: "/variables" },
          { op: "copy", from: "/canarySettings/deploymentId", path: "/deploymentId" },
          { op: "replace", path: "/canarySettings/percentTraffic", value: "0" }] });
      await reload();
      notify(`Promoted the canary of stage ${st.name}: the stage now serves deployment ${done.deploymentId}, and the canary gets 0% of the traffic.`);
    } catch (e) { staleHere(e); }
  };
  const history = (st.history || []).slice().reverse();
  const vars = variables(st.variables, "variables") || "—";
  const c = st.canarySettings;
  const overrides = variables(c && c.stageVariableOverrides, "overrides");
  const canary = c ? [`${c.percentTraffic || 0}% to ${c.deploymentId}`, overrides ? ["; variables:", overrides] : ""] : "—";
  const rest = protocol === "REST";
  // An apigatewayv2 stage with autoDeploy serves its API's latest change: it
  // can be neither rolled back nor deployed by hand until autoDeploy is off.
  const auto = !rest && st.autoDeploy;
  const autoOff = "aws apigatewayv2 update-stage --api-id " + sh(apiID) + " --stage-name " + sh(st.name) + " --no-auto-deploy";
  const deployment = st.deploymentId ? st.deploymentId
    : auto ? el("span", { class: "muted" }, "none yet: the stage deploys automatically, at the API's next change that can be deployed",
      st.lastDeploymentStatusMessage ? ["; ", el("span", { class: "deploy-status" }, st.lastDeploymentStatusMessage)] : "")
      : el("span", { class: "muted" }, "none yet: deploy with ", el("code", {}, "portico api deploy " + sh(apiID) + " --stage " + sh(st.name)));
  const throttles = Object.entries(st.methodSettings || {}).filter(([, m]) => m.throttlingRateLimit !== undefined || m.throttlingBurstLimit !== undefined)
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return el("section", { "data-stage": st.name },
    el("h3", {}, "Stage ", st.name),
    st.description ? el("p", { class: "stage-description" }, st.description) : "",
    stageURLs(protocol, st),
    auto ? el("p", { class: "auto-deploy" }, "Deploys automatically (autoDeploy): every change of the API is deployed to this stage.",
      st.deploymentId && st.lastDeploymentStatusMessage ? [" ", el("span", { class: "deploy-status" }, st.lastDeploymentStatusMessage)] : "") : "",
    // Canaries, the cache and tracing are REST stages' only.
    table(["Deployment", "Variables", ...(rest ? ["Canary", "Cache", "Tracing"] : []), "Access log"], [el("tr", {},
      el("td", { class: "deployment long" }, deployment),
      el("td", { class: "long" }, vars),
      rest ? el("td", { class: "canary long" }, canary, !c ? "" : promoted(st) ? el("span", { class: "muted promoted" }, " (promoted: the stage serves it, with its overrides)") :
        el("button", { class: "promote", "aria-label": `Promote the canary of stage ${st.name}`, on: { click: promote } }, "Promote")) : "",
      rest ? el("td", {}, st.cacheClusterEnabled ? "on (" + (st.cacheClusterSize || "0.5") + " GB)" : "off") : "",
      rest ? el("td", {}, st.tracingEnabled ? "on" : "off") : "",
      el("td", { class: "long" }, st.accessLogSettings ? st.accessLogSettings.destinationArn : "off"))]),
    throttles.length === 0 ? "" : [el("h4", {}, "Throttling"),
      table([rest ? "Method" : "Route", "Rate (requests/s)", "Burst"], throttles.map(([k, m]) => el("tr", { "data-throttle": k },
        el("td", {}, k === "*/*" ? (rest ? "every method (*/*)" : "every route (default)") : k),
        el("td", {}, m.throttlingRateLimit === undefined ? "not set" : m.throttlingRateLimit),
        el("td", {}, m.throttlingBurstLimit === undefined ? "not set" : m.throttlingBurstLimit))), { class: "throttles" })],
    el("h4", {}, "History"),
    auto && history.length > 1 ? el("p", { class: "muted auto-deploy-rollback" }, "To roll back, turn autoDeploy off first: ",
      el("code", {}, autoOff), ".") : "",
    history.length === 0 ? el("p", { class: "muted history-empty" }, "No deployments yet: the stage's first deployment starts its history.") :
    table(["When", "Action", "Deployment", "Description", hiddenHeader("Roll back")], history.map((h, i) => el("tr", {},
      el("td", { class: "when" }, when(h.at)), el("td", {}, h.action), el("td", {}, h.deploymentId), el("td", { class: "description long" }, h.description || ""),
      el("td", {}, h.deploymentId === st.deploymentId ? el("span", { class: "muted" }, i === 0 ? "current" : "served now (the current entry is the top one)") :
        !live.has(h.deploymentId) ? el("span", { class: "muted deleted" }, "deployment deleted") :
        auto ? el("span", { class: "muted" }, "autoDeploy is on") :
        el("button", { class: "rollback", "data-deployment": h.deploymentId, "aria-label": `Roll back stage ${st.name} to deployment ${h.deploymentId} (history entry ${history.length - i}: ${h.action}, ${when(h.at)})`,
          on: { click: () => rollback(h.deploymentId) } }, "Roll back to this")))),
    { class: "history" }));
}

// stageURLs says where stage st is called, as `portico stage list` prints it
// (the admin API's url): a REST or HTTP stage's invoke URL; a WebSocket
// stage's URL (ws://, wss:// over TLS) and its @connections URL, where a
// backend sends to its clients. A stage whose API turns the default endpoint
// off has none: custom domains reach it.
function stageURLs(protocol, st) {
  if (st.executeApiEndpointDisabled) {
    return el("p", { class: "stage-url muted" }, "No stage URL: the deployment it serves turns the API's default endpoint off (disableExecuteApiEndpoint); a custom domain reaches it (",
      el("code", {}, "portico domain list"), ").");
  }
  if (!st.url) return "";
  if (protocol !== "WEBSOCKET") return el("p", { class: "stage-url" }, "Invoke URL: ", el("code", { class: "url" }, st.url));
  const conns = st.url.replace(/^ws(s?):\/\//, "http$1://") + "@connections";
  return [el("p", { class: "stage-url" }, "WebSocket URL: ", el("code", { class: "url" }, st.url)),
    el("p", { class: "stage-url" }, "@connections URL: ", el("code", { class: "connections-url" }, conns))];
}

// promoted reports whether a promotion of stage st's canary would change
// nothing: the canary gets no traffic, is on the stage's deployment, and its
// overrides are the stage's variables already (as after a promotion, which
// leaves the canary in place).
function promoted(st) {
  const c = st.canarySettings, vars = st.variables || {};
  return !!c && !(c.percentTraffic > 0) && c.deploymentId === st.deploymentId &&
    Object.entries(c.stageVariableOverrides || {}).every(([k, v]) => Object.hasOwn(vars, k) && vars[k] === v);
}

// overridesText writes a canary's variable overrides as "k=v, k2=v2" (by
// name), "" for none.
function overridesText(vars) {
  return Object.keys(vars || {}).sort().map(k => k + "=" + vars[k]).join(", ");
}

// reloadStage shows the page again (the server's state, after an action on a
// stage or one refused as stale) and moves the focus to the heading of stage
// name, where the action's button was: the new page replaces that button, and
// the focus would otherwise go back to the document's start.
async function reloadStage(name) {
  await route();
  const section = [...main.querySelectorAll("section[data-stage]")].find(x => x.dataset.stage === name);
  const h = section && section.querySelector("h3");
  if (h) {
    h.tabIndex = -1;
    h.focus();
  }
}

// variables shows stage variables (or a canary's overrides) one row per
// variable, so that a value holding "," or "=" reads as what it is; "" when
// there are none.
function variables(vars, cls) {
  const names = Object.keys(vars || {}).sort();
  if (names.length === 0) return "";
  return table(["Name", "Value"], names.map(k => el("tr", { "data-variable": k }, el("td", {}, k), el("td", { class: "long" }, vars[k]))),
    { class: "variables " + cls });
}

// ---- API keys and usage plans ----

// inTurn calls f on every item, at most n calls at a time, and returns their
// results in the items' order; a call that throws gives failed(error). Once
// stop() is true no more calls are made (their items give failed(null)).
async function inTurn(items, n, f, failed, stop) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      if (stop && stop()) { out[i] = failed(null); continue; }
      try { out[i] = await f(items[i]); } catch (e) { out[i] = failed(e); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

function isoDay(d) { return d.toISOString().slice(0, 10); }

// when formats every time the console shows, one way ("2024-01-20 11:55:00
// UTC"): API Gateway's dates (epoch seconds), RFC 3339 strings and Lambda's
// LastModified ("2024-01-20T11:55:00.000+0000") alike.
function when(v) {
  if (v === undefined || v === null || v === "") return "";
  const d = typeof v === "number" ? new Date(v * 1000) : new Date(String(v).replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
  return isNaN(d) ? String(v) : d.toISOString().replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

async function keysPage() {
  // The reads stop once the page is left (another page asked for) or a
  // call got no answer from a server that is down (the rest would get none
  // either; a call lost under a server that answers, as to a network
  // change, stops nothing).
  let stopped = false;
  const prev = stopPage;
  stopPage = () => { stopped = true; prev(); };
  const [keyList, planList] = await Promise.all([all("/apikeys", "item"), all("/usageplans", "item")]);
  // Keys and plans by name as a person sorts them: plan2 before plan10.
  keyList.sort(byName);
  planList.sort(byName);
  const keys = { item: keyList }, plans = { item: planList };
  const today = new Date();
  // GetUsage is paged by position too, over the plan's keys. Six plans are
  // read at a time (as many as a browser opens connections to a host): a
  // page of hundreds of plans queues no hundreds of requests, which one
  // network change would all abort. A plan's usage is read over its quota's
  // period (this calendar month for a plan without a quota).
  const usage = await inTurn(plans.item || [], 6, async p => {
    const values = {};
    const start = quotaPeriod(p.quota, today).start;
    await pages(`/usageplans/${enc(p.id)}/usage?startDate=${isoDay(start)}&endDate=${isoDay(today)}`, page => Object.assign(values, page.values || {}));
    return { values };
  }, e => { if (e && e.unanswered && !e.up) stopped = true; return null; }, () => stopped);
  const keyName = Object.fromEntries((keys.item || []).map(k => [k.id, k.name || k.id]));
  return [el("h1", {}, "API keys"),
    keys.item.length === 0 ? el("p", { class: "muted", id: "keys" }, "No API keys.") :
      table(["Name", "Id", "Enabled", "Created"], (keys.item || []).map(k => el("tr", { "data-key": k.id },
        el("td", {}, k.name || ""), el("td", {}, k.id), el("td", {}, k.enabled ? "yes" : "no"), el("td", { class: "created" }, when(k.createdDate)))), { id: "keys" }),
    el("h1", {}, "Usage plans"),
    plans.item.length === 0 ? el("p", { class: "muted" }, "No usage plans.") : "",
    ...(plans.item || []).map((p, i) => el("section", {},
      el("h3", {}, p.name, " ", el("span", { class: "muted" }, p.id)),
      el("p", {}, "Throttle: ", p.throttle ? `${p.throttle.rateLimit} rps, burst ${p.throttle.burstLimit}` : "none",
        "; quota: ", p.quota ? `${p.quota.limit} per ${p.quota.period}` : "none",
        "; stages: ", (p.apiStages || []).map(s => s.apiId + "/" + s.stage).join(", ") || "none"),
      !usage[i] ? el("p", { class: "muted" }, "This plan's usage could not be read.") :
        Object.keys(usage[i].values || {}).length === 0 ? el("p", { class: "muted no-keys" }, "No API keys in this plan.") :
          usageTable(p, usage[i].values, keyName, today)))];
}

// quotaPeriod is the quota period of quota q (none: the calendar month) that
// holds day now, as the gateway counts it (UTC): {start, next, name}. A week
// starts on the weekday offset (0 Sunday), a month on day offset + 1.
function quotaPeriod(q, now) {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const offset = (q && q.offset) || 0;
  const addDays = (d, n) => new Date(d.getTime() + n * 86400000);
  switch (q && q.period) {
    case "DAY": return { start: day, next: addDays(day, 1), name: "today" };
    case "WEEK": {
      const start = addDays(day, -((day.getUTCDay() - offset + 7) % 7));
      return { start, next: addDays(start, 7), name: "this week" };
    }
    default: {
      const m = q ? offset : 0;
      let start = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1 + m));
      if (day < start) start = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - 1, 1 + m));
      return { start, next: new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1 + m)), name: "this month" };
    }
  }
}

// usageTable shows each key's requests of plan p: for a plan with a quota,
// those of the quota's current period and what is left of it (GetUsage's
// last day's remaining, as \`portico plan usage\` shows it; a key with none
// left is refused, 429, until the next period); else this month's.
function usageTable(p, values, keyName, today) {
  const period = quotaPeriod(p.quota, today);
  const since = p.quota && p.quota.period !== "DAY" ? ` (since ${isoDay(period.start)})` : "";
  // The plan's keys in the order of the keys' list: by name, then id.
  const order = ([a], [b]) => natural.compare(keyName[a] || a, keyName[b] || b) || natural.compare(a, b);
  const rows = Object.entries(values).sort(order).map(([k, days]) => {
    const used = days.reduce((n, d) => n + d[0], 0);
    const last = days[days.length - 1];
    const left = last ? last[1] : undefined;
    return el("tr", { "data-key": k }, el("td", {}, keyName[k] || k), el("td", { class: "used" }, used),
      p.quota ? el("td", { class: "remaining" }, left === undefined ? "—" : left > 0 ? String(left) :
        `0: the key is refused (429) until ${isoDay(period.next)}`) : "");
  });
  return table(["Key", "Requests " + period.name + since, ...(p.quota ? ["Remaining " + period.name] : [])], rows, { class: "usage" });
}

// ---- metrics ----

// parseMetrics reads Prometheus's text format into [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = Object.create(null);
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    out.push({ name: m[1], labels, value: parseFloat(m[4]) });
  }
  return out;
}

// sum adds up the samples of metric name by key(labels). Its keys are
// function names and stage names, which may be "constructor" or "__proto__":
// it (and every map of the metrics page) has no prototype to read them from.
function sum(samples, name, key) {
  const by = Object.create(null);
  for (const s of samples) if (s.name === name) { const k = key(s.labels); by[k] = (by[k] || 0) + s.value; }
  return by;
}

// quantile estimates a quantile from cumulative histogram buckets.
function quantile(buckets, q) {
  const bs = Object.entries(buckets).map(([le, c]) => [le === "+Inf" ? Infinity : parseFloat(le), c]).sort((a, b) => a[0] - b[0]);
  if (bs.length === 0) return NaN;
  const total = bs[bs.length - 1][1];
  if (total === 0) return NaN;
  let prevLe = 0, prevC = 0;
  for (const [le, c] of bs) {
    if (c >= q * total) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((q * total - prevC) / Math.max(c - prevC, 1));
    }
    prevLe = le; prevC = c;
  }
  return prevLe;
}

// The chart's lines: ten colours, then the same ten dashed, then dotted, so
// that thirty stages' lines all differ.
const colors = ["#ff9900", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const dashes = [[], [6, 3], [2, 2]];

function metricsPage() {
  const canvas = el("canvas", { id: "requests-chart", role: "img", "aria-label": "Chart of the requests per stage, every 2 seconds over the last 2 minutes; the Stages table below has the totals",
    width: 720, height: 220, "data-samples": "0", "data-total": "0", "data-drawn": "0", "data-min": "0" });
  const legend = el("div", { class: "legend" });
  const stagesT = el("tbody");
  const fnsT = el("tbody");
  const stagesTable = el("table", { id: "stage-metrics" }, el("thead", {}, el("tr", {}, ["Stage", "Requests", "4XX", "5XX", "p50 latency", "p99 latency", "Cache hits"].map(h => el("th", {}, h)))), stagesT);
  const fnsTable = el("table", { id: "function-metrics" }, el("thead", {}, el("tr", {}, ["Function", "Invocations", "Errors", "Throttles", "Cold starts", "Concurrent"].map(h => el("th", {}, h)))), fnsT);
  // Numbers no longer read (the session ended, the server does not answer)
  // are greyed and said to be as of their last reading.
  const staleNote = el("p", { id: "metrics-stale", role: "status", hidden: true });
  // The counts are the server process's: they start from 0 when it starts.
  const since = el("p", { id: "metrics-since", class: "muted" }, "Counts since the server started.");
  const stagesEmpty = el("p", { id: "stages-empty", class: "muted", hidden: true }, "No requests to any stage since the server started.");
  const fnsEmpty = el("p", { id: "functions-empty", class: "muted", hidden: true }, "No function invoked since the server started.");
  const children = [el("h1", {}, "Metrics"), staleNote, since,
    el("h2", {}, "Requests per stage (every 2 s)"), canvas, legend,
    el("h2", {}, "Stages"), stagesTable, stagesEmpty,
    el("h2", {}, "Functions"), fnsTable, fnsEmpty];
  let timer = 0, asOf = "", left = false; // the polling timer; when the numbers shown were read; the page was left
  const stale = why => {
    staleNote.textContent = (asOf ? `These numbers are as of ${asOf}: ` : "No numbers: ") + why;
    staleNote.hidden = false;
    for (const x of [canvas, stagesTable, fnsTable]) x.classList.add("stale");
  };
  const series = Object.create(null); // stage -> [requests per interval]
  let last = null; // the last reading of each request counter, by its labels
  let failed = false; // the last reading failed (its error is on the page)
  let drawn = 0, lowest = 0; // the requests the chart took in, and its lowest point
  const tick = async () => {
    let text;
    try { text = (await api("GET", "/metrics", undefined, true)).text; } catch (e) {
      if (left) return;
      failed = true;
      if (errorBox.dataset.kind === "signed-out") {
        // Every reading is refused until a sign-in (in this tab or another):
        // read every 6 s meanwhile, as the live log goes on.
        if (canvas.dataset.polling !== "signed-out") {
          clearInterval(timer);
          timer = setInterval(tick, 6000);
          canvas.dataset.polling = "signed-out";
        }
        stale("the console's session has ended; sign in again (here or in another tab), and they are read again.");
      } else {
        stale("the admin API does not answer; they are read again every 2 s.");
      }
      return;
    }
    if (left) return; // no timer restarted for a page no longer shown
    asOf = when(new Date().toISOString());
    staleNote.hidden = true;
    for (const x of [canvas, stagesTable, fnsTable]) x.classList.remove("stale");
    // Read again: the error of the readings that failed goes.
    if (failed && !errorBox.hidden && (errorBox.textContent.includes("GET /metrics") || errorBox.dataset.kind === "signed-out")) clearError();
    if (canvas.dataset.polling === "signed-out") { // signed in again
      clearInterval(timer);
      timer = setInterval(tick, 2000);
    }
    canvas.dataset.polling = "live";
    failed = false;
    const s = parseMetrics(text);
    const started = s.find(x => x.name === "process_start_time_seconds");
    since.textContent = started ? `Counts since the server started, at ${when(Math.floor(started.value))}.` : "Counts since the server started.";
    const stageKey = l => l.api_name + " " + l.api_id + "/" + l.stage + (l.canary === "true" ? " (canary)" : "");
    const req = sum(s, "portico_api_requests_total", stageKey);
    const e4 = sum(s, "portico_api_4xx_errors_total", stageKey);
    const e5 = sum(s, "portico_api_5xx_errors_total", stageKey);
    const hits = sum(s, "portico_api_cache_hits_total", stageKey);
    const buckets = Object.create(null);
    for (const x of s) if (x.name === "portico_api_latency_seconds_bucket") {
      const k = stageKey(x.labels); buckets[k] = buckets[k] || Object.create(null);
      buckets[k][x.labels.le] = (buckets[k][x.labels.le] || 0) + x.value;
    }
    const ms = v => isNaN(v) ? "—" : (v * 1000).toFixed(1) + " ms";
    stagesT.replaceChildren(...Object.keys(req).sort().map(k => el("tr", { "data-stage": k },
      el("td", {}, k), el("td", { class: "requests" }, req[k]), el("td", {}, e4[k] || 0), el("td", {}, e5[k] || 0),
      el("td", {}, ms(quantile(buckets[k] || {}, 0.5))), el("td", {}, ms(quantile(buckets[k] || {}, 0.99))), el("td", {}, hits[k] || 0))));
    stagesEmpty.hidden = stagesT.children.length > 0;
    const fnKey = l => l.function;
    const inv = sum(s, "portico_lambda_invocations_total", fnKey), err = sum(s, "portico_lambda_errors_total", fnKey);
    const thr = sum(s, "portico_lambda_throttles_total", fnKey), cold = sum(s, "portico_lambda_cold_starts_total", fnKey);
    const conc = sum(s, "portico_lambda_concurrent_executions", fnKey);
    fnsT.replaceChildren(...Object.keys(inv).sort().map(k => el("tr", { "data-function": k },
      el("td", {}, k), el("td", {}, inv[k]), el("td", {}, err[k] || 0), el("td", {}, thr[k] || 0), el("td", {}, cold[k] || 0), el("td", {}, conc[k] || 0))));
    fnsEmpty.hidden = fnsT.children.length > 0;
    // Requests since the last reading, counter by counter: one that went
    // down was reset (the server restarted) and counts from zero, as
    // Prometheus's rate() takes it; one that is gone counts nothing.
    const now = Object.create(null);
    for (const x of s) if (x.name === "portico_api_requests_total") now[JSON.stringify(x.labels)] = x;
    if (last) {
      const inc = Object.create(null);
      for (const [id, x] of Object.entries(now)) {
        const before = last[id] ? last[id].value : 0;
        const k = stageKey(x.labels);
        inc[k] = (inc[k] || 0) + (x.value >= before ? x.value - before : x.value);
      }
      for (const k of new Set([...Object.keys(inc), ...Object.keys(series)])) {
        series[k] = series[k] || [];
        series[k].push(inc[k] || 0);
        if (series[k].length > 60) series[k].shift();
        drawn += inc[k] || 0;
        lowest = Math.min(lowest, inc[k] || 0);
      }
      draw(canvas, legend, series);
      canvas.dataset.samples = String(Number(canvas.dataset.samples) + 1);
      canvas.dataset.drawn = String(drawn);
      canvas.dataset.min = String(lowest);
    }
    canvas.dataset.total = String(Object.values(req).reduce((a, b) => a + b, 0));
    last = now;
  };
  return { children, start: () => {
    timer = setInterval(tick, 2000);
    tick();
    const prev = stopPage;
    stopPage = () => { left = true; clearInterval(timer); prev(); };
  } };
}

function draw(canvas, legend, series) {
  const g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 30;
  g.clearRect(0, 0, W, H);
  const max = Math.max(1, ...Object.values(series).flat());
  g.strokeStyle = "#d8dce3"; g.fillStyle = "#6b7280"; g.font = "11px sans-serif";
  g.beginPath(); g.moveTo(pad, 5); g.lineTo(pad, H - pad); g.lineTo(W - 5, H - pad); g.stroke();
  g.fillText(String(max), 2, 12); g.fillText("0", 2, H - pad);
  legend.replaceChildren();
  // In the Stages table's order, each stage keeping its place.
  Object.keys(series).sort().forEach((k, i) => {
    const pts = series[k];
    const c = colors[i % colors.length], dash = dashes[Math.floor(i / colors.length) % dashes.length];
    g.strokeStyle = c; g.setLineDash(dash); g.beginPath();
    pts.forEach((v, j) => {
      const x = pad + (W - pad - 5) * (j / 59), y = (H - pad) - (H - pad - 5) * (v / max);
      if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    legend.append(el("span", { "data-stage": k }, el("i", { "data-color": c, "data-dash": dash.join(" ") }), k));
  });
  g.setLineDash([]);
  legend.querySelectorAll("i").forEach(i => {
    const c = i.dataset.color, [on, off] = i.dataset.dash.split(" ").map(Number);
    i.style.background = off ? `repeating-linear-gradient(90deg, ${c} 0 ${on}px, transparent ${on}px ${on + off}px)` : c;
  });
}

// ---- connections ----

async function connectionsPage() {
  const [list, apis] = await Promise.all([api("GET", "/portico/v1/connections"), api("GET", "/portico/v1/apis")]);
  const apiName = Object.fromEntries(apis.items.map(a => [a.id, a.name]));
  const base = c => `/portico/v1/apis/${enc(c.apiId)}/stages/${enc(c.stage)}/connections/${enc(c.connectionId)}`;
  return [el("h1", {}, "WebSocket connections"),
    list.items.length === 0 ? el("p", { class: "muted" }, "No live connections.") :
      table(["API / stage", "Connection", "Connected", "Last active", "Source", "User agent", "Send", hiddenHeader("Disconnect")], list.items.map((c, i) => {
        // A list out of date (the connection closed since it loaded) is
        // shown again, the focus on the next row's button, and said so.
        const stale = async (e, cls) => {
          if (!isStale(e)) return;
          await reloadConnections(i, cls);
          notify(`Connection ${c.connectionId} is gone: the list now shows the live connections.`);
        };
        const msg = el("input", { type: "text", placeholder: "message", class: "message", "aria-label": `Message to connection ${c.connectionId}` });
        const sent = el("span", { class: "sent muted", role: "status" });
        return el("tr", { "data-connection": c.connectionId },
          el("td", { class: "api-stage" }, Object.hasOwn(apiName, c.apiId) ? [el("span", { class: "api-name" }, apiName[c.apiId]), " "] : "",
            el("span", { class: Object.hasOwn(apiName, c.apiId) ? "muted" : "" }, c.apiId + "/" + c.stage)),
          el("td", {}, c.connectionId), el("td", { class: "connected" }, when(c.connectedAt)),
          el("td", {}, when(c.lastActiveAt)), el("td", {}, c.sourceIp), el("td", { class: "user-agent long" }, c.userAgent || ""), el("td", {}, msg,
            el("button", { class: "send", "aria-label": `Send the message to connection ${c.connectionId}`,
              on: { click: async () => {
                clearError();
                clearNotice();
                sent.textContent = "";
                try {
                  await api("POST", base(c), msg.value);
                  msg.value = "";
                  sent.textContent = "Sent at " + when(new Date().toISOString()) + ".";
                } catch (e) { await stale(e, "send"); }
              } } }, "Send"), " ", sent),
          el("td", {}, el("button", { class: "disconnect", "aria-label": `Disconnect connection ${c.connectionId}`,
            on: { click: async () => {
              clearError();
              clearNotice();
              // As Roll back and Promote: a misclick would drop a live client.
              if (!confirm(`Disconnect connection ${c.connectionId} (${Object.hasOwn(apiName, c.apiId) ? apiName[c.apiId] + ", " : ""}${c.apiId}/${c.stage}, from ${c.sourceIp})? Its client is disconnected at once.`)) return;
              try {
                await api("DELETE", base(c));
              } catch (e) { await stale(e, "disconnect"); return; }
              await reloadConnections(i, "disconnect");
              notify(`Disconnected connection ${c.connectionId}.`);
            } } }, "Disconnect")));
      }), { id: "connections" })];
}

// reloadConnections shows the connections again after an action on the one
// of row i, which the new list has no more (or has again), and moves the
// focus to the button of class cls of the row now in its place (the last
// row's, the list being shorter; the page's heading, it being empty): the
// new page replaces the button that had the focus, which would otherwise go
// back to the document's start.
async function reloadConnections(i, cls) {
  await route();
  if (document.body.dataset.page !== "connections") return; // navigated away meanwhile
  const rows = main.querySelectorAll("#connections tr[data-connection]");
  const target = rows.length ? rows[Math.min(i, rows.length - 1)].querySelector("button." + cls) : main.querySelector("h1");
  if (target) {
    if (target.tagName === "H1") target.tabIndex = -1;
    target.focus();
  }
}

// ---- routing ----

let navigation = 0; // counts route calls: only the latest one shows its page

// route shows the page the location's hash names. A page function returns its
// content (an array of nodes, or {children, start} where start begins its
// timers and streams once shown); a page that a later navigation overtook
// while it loaded is dropped.
async function route(moveFocus) {
  stopPage();
  stopPage = () => {};
  const nav = ++navigation;
  let parts;
  try {
    parts = (location.hash.replace(/^#\/?/, "") || "functions").split("/").map(decodeURIComponent);
  } catch (e) {
    // A malformed %-escape (a link cut short or mistyped): say so.
    busy.hidden = true;
    delete document.body.dataset.loading;
    document.querySelectorAll("[data-nav]").forEach(a => a.classList.remove("active"));
    document.title = "Not a valid link – Portico console";
    main.replaceChildren(el("p", { id: "bad-link" }, "The address ", el("code", {}, location.hash),
      " is not a valid console link: it has a malformed %-escape. Check the link, or go to ",
      el("a", { href: "#/functions" }, "the functions"), "."));
    document.body.dataset.page = "bad-link";
    return;
  }
  document.querySelectorAll("[data-nav]").forEach(a => a.classList.toggle("active", a.dataset.nav === parts[0]));
  busy.hidden = false;
  document.body.dataset.loading = "1";
  try {
    let out;
    // A page's route, and how many parts it takes: functions and APIs one
    // more (the name or id); a route with more parts is no page.
    // (Its own properties only: "#/constructor" names no page.)
    const depths = { functions: 2, apis: 2, keys: 1, metrics: 1, connections: 1 };
    const depth = Object.hasOwn(depths, parts[0]) ? depths[parts[0]] : 0;
    if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop(); // a trailing slash
    if (parts.length > depth || (parts.length > 1 && !namesOne(parts[0], parts[1]))) {
      out = notFound();
    } else {
      switch (parts[0]) {
        case "functions": out = await (parts[1] ? functionPage(parts[1]) : functionsPage()); break;
        case "apis": out = await (parts[1] ? apiPage(parts[1]) : apisPage()); break;
        case "keys": out = await keysPage(); break;
        case "metrics": out = await metricsPage(); break;
        case "connections": out = await connectionsPage(); break;
        default: out = notFound();
      }
    }
    if (nav !== navigation) return;
    const { children, start } = Array.isArray(out) ? { children: out } : out;
    main.replaceChildren(...children);
    if (start) start();
    document.body.dataset.page = parts.join("/");
    shown(moveFocus);
  } catch (e) {
    if (nav !== navigation) return;
    if (errorBox.hidden) showError(String(e));
    main.replaceChildren(el("h1", {}, "Page not loaded"), el("p", { class: "muted" }, "This page could not be loaded: see the message above."));
    shown(moveFocus);
  } finally {
    if (nav === navigation) {
      busy.hidden = true;
      delete document.body.dataset.loading;
    }
  }
}

// namesOne reports whether name may name a function or an API (what): not
// "." or "..", and for a function no qualified name ("echo:1", an ARN with a
// version or alias), which is no function's page.
function namesOne(what, name) {
  if (name === "." || name === "..") return false;
  if (what !== "functions") return true;
  const i = name.indexOf("function:");
  return !(i < 0 ? name : name.slice(i + "function:".length)).includes(":");
}

// notFound is the page of a route that names none.
function notFound() {
  return [el("h1", { id: "not-found" }, "No such page"), el("p", {}, "The address ", el("code", {}, location.hash),
    " names no console page. Go to ", el("a", { href: "#/functions" }, "the functions"), ".")];
}

// shown titles the window after the page's heading and, after a navigation,
// moves the focus to that heading, so that a screen reader announces the new
// page and the keyboard starts from it.
function shown(moveFocus) {
  const h = main.querySelector("h1");
  document.title = (h ? h.textContent : "Portico") + " – Portico console";
  if (h && moveFocus) {
    h.tabIndex = -1;
    h.focus();
  }
}

// The skip link moves the focus to the page's heading (a link to #main would
// change the hash route).
document.getElementById("skip-link").addEventListener("click", ev => {
  ev.preventDefault();
  const h = main.querySelector("h1") || main;
  h.tabIndex = -1;
  h.focus();
});

window.addEventListener("hashchange", () => { clearError(); clearNotice(); route(true); });
route();
