// jobgw's live status page: the job list (ListJobs), a job's steps and hosts (the status event
// stream), one host's log (the log follow stream), and job plans: a plan's variables and steps,
// running it, confirming or retrying its steps (OperateStep) and its outputs. Plain DOM, no framework, no build step: the
// file is embedded in jobgw as written. The server's CSP allows only same-origin scripts, styles
// and connections, so nothing here sets inline styles, compiles code from strings or parses markup
// from strings; every server-provided string reaches the page through textContent or attributes.
'use strict';

(() => {
  const TOKEN_KEY = 'jobgw.token';
  const LIST_INTERVAL_MS = 2000;
  const LIST_PAGE_SIZE = 50;
  // Soon enough after a status change to feel live, late enough to fold a burst into one request.
  const LIST_AFTER_CHANGE_MS = 250;
  const FILTER_DEBOUNCE_MS = 300;
  // Five of jobgw's default heartbeats (http.heartbeat_ms, 15 s): a stream silent this long is a
  // dead connection a proxy kept open.
  const STREAM_STALL_MS = 75000;
  const BACKOFF_FIRST_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  // The log pane holds about 1 MB of text (UTF-16 code units); older text is dropped.
  const LOG_CAP = 1 << 20;
  // Text goes into nodes of this size so dropping old text removes whole nodes.
  const LOG_NODE_CHARS = 64 * 1024;
  // When dropping old text, cut at a line start if one is this close.
  const LOG_LINE_SLACK = 4096;

  const $ = (id) => document.getElementById(id);

  // Read by browser tests to measure how fast batched updates reach the DOM.
  const stats = {events: 0, renders: 0, maxRenderMs: 0, totalRenderMs: 0, lastRenderAt: 0};
  window.jobgwStats = stats;

  // ---------------------------------------------------------------------------------------------
  // Values as protobuf's JSON mapping writes them: int64 as strings, enums by name (or by number
  // when the name is unknown to the server's build), defaults omitted.

  const JOB_STATUS_BY_NUMBER = {
    0: 'UNSPECIFIED', 1: 'PENDING', 2: 'RUNNING', 3: 'SUCCESS', 4: 'FAILED', 5: 'SKIPPED',
    6: 'IGNORED_ERROR', 7: 'WAITING_USER', 8: 'TERMINATED', 9: 'ABNORMAL', 10: 'TERMINATING',
    11: 'TERMINATE_SUCCEEDED', 13: 'TERMINATION_CONFIRMED', 14: 'ABANDONED', 15: 'ROLLING_WAITING',
  };
  const HOST_STATUS_BY_NUMBER = {
    0: 'UNKNOWN_ERROR', 1: 'AGENT_ERROR', 2: 'INVALID_HOST', 3: 'LAST_SUCCESS', 5: 'WAITING',
    7: 'RUNNING', 9: 'SUCCESS', 11: 'FAILED', 12: 'SUBMIT_FAILED', 13: 'TASK_TIMEOUT',
    15: 'LOG_ERROR', 16: 'SCRIPT_LOG_TIMEOUT', 17: 'FILE_LOG_TIMEOUT', 18: 'AGENT_NOT_INSTALLED',
    101: 'SCRIPT_FAILED', 102: 'SCRIPT_TIMEOUT', 103: 'SCRIPT_TERMINATED', 104: 'NONZERO_EXIT_CODE',
    202: 'COPY_FAILED', 203: 'SOURCE_FILE_MISSING', 301: 'FILE_ERROR_UNCLASSIFIED',
    303: 'GSE_TIMEOUT', 310: 'AGENT_ABNORMAL', 311: 'USER_ERROR', 312: 'PASSWORD_ERROR',
    320: 'FILE_ERROR', 321: 'FILE_TOO_LARGE', 329: 'FILE_TASK_ERROR', 399: 'TASK_ERROR',
    403: 'TERMINATED', 404: 'TERMINATION_FAILED', 500: 'UNKNOWN',
  };
  const FILE_STATUS_BY_NUMBER = {
    0: 'UNSPECIFIED', 1: 'WAITING', 2: 'UPLOADING', 3: 'DOWNLOADING', 4: 'SUCCESS', 5: 'FAILED',
  };

  function enumName(value, prefix, byNumber) {
    if (value === undefined || value === null) return byNumber[0];
    if (typeof value === 'number') return byNumber[value] || String(value);
    const s = String(value);
    return s.startsWith(prefix) ? s.slice(prefix.length) : s;
  }
  const jobStatusName = (v) => enumName(v, 'JOB_STATUS_', JOB_STATUS_BY_NUMBER);
  const hostStatusName = (v) => enumName(v, 'HOST_STATUS_', HOST_STATUS_BY_NUMBER);
  const fileStatusName = (v) => enumName(v, 'FILE_LOG_STATUS_', FILE_STATUS_BY_NUMBER);
  const humanize = (name) => name.toLowerCase().replace(/_/g, ' ');
  const STEP_TYPE_BY_NUMBER = {0: 'UNSPECIFIED', 1: 'SCRIPT', 2: 'FILE', 3: 'CONFIRMATION', 4: 'SQL'};
  const VAR_TYPE_BY_NUMBER = {
    0: 'UNSPECIFIED', 1: 'STRING', 2: 'NAMESPACE', 3: 'HOST_LIST', 4: 'PASSWORD',
    5: 'ASSOC_ARRAY', 6: 'INDEX_ARRAY',
  };
  const stepTypeName = (v) => enumName(v, 'STEP_TYPE_', STEP_TYPE_BY_NUMBER);
  const varTypeName = (v) => enumName(v, 'GLOBAL_VAR_TYPE_', VAR_TYPE_BY_NUMBER);

  // Four classes, each with its own colour and glyph, so status never rests on colour alone.
  const GLYPH = {waiting: '\u25CB', running: '\u25B6', success: '\u2713', failed: '\u2717'};

  function hostClass(status) {
    switch (hostStatusName(status)) {
      case 'WAITING': return 'waiting';
      case 'RUNNING': return 'running';
      case 'SUCCESS':
      case 'LAST_SUCCESS': return 'success';
      default: return 'failed';
    }
  }

  function jobClass(status) {
    switch (jobStatusName(status)) {
      case 'SUCCESS': return 'success';
      case 'RUNNING':
      case 'TERMINATING': return 'running';
      case 'UNSPECIFIED':
      case 'PENDING':
      case 'WAITING_USER':
      case 'ROLLING_WAITING': return 'waiting';
      default: return 'failed';
    }
  }

  const num = (v) => {
    const n = Number(v || 0);
    return Number.isFinite(n) ? n : 0;
  };
  const idString = (v) => (v === undefined || v === null || v === '' ? '0' : String(v));

  function hostKey(host) {
    const h = host || {};
    const id = idString(h.hostId);
    return id !== '0' ? id : `${idString(h.cloudId)}:${h.ip || ''}`;
  }

  function hostLabel(host) {
    const h = host || {};
    if (h.ip) return idString(h.cloudId) !== '0' ? `${h.cloudId}:${h.ip}` : h.ip;
    return `id ${idString(h.hostId)}`;
  }

  const pad = (n) => String(n).padStart(2, '0');
  function formatTime(ms) {
    const n = num(ms);
    if (!n) return '\u2014';
    const d = new Date(n);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
        `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function formatDuration(ms) {
    let s = Math.max(0, Math.round(num(ms) / 1000));
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (h) return `${h} h ${m} min`;
    if (m) return `${m} min ${s} s`;
    return `${s} s`;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }
  function setAttr(el, name, value) {
    if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---------------------------------------------------------------------------------------------
  // The token lives in this tab's sessionStorage only: it goes into an Authorization header and
  // nowhere else (never a URL, never the console).

  function readStoredToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }
  let token = readStoredToken();

  function storeToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // Storage refused (private mode, a sandboxed frame): the token still works for this page.
    }
  }

  function requestHeaders(accept) {
    const h = new Headers({Accept: accept});
    if (token) h.set('Authorization', `Bearer ${token}`);
    return h;
  }

  class ApiError extends Error {
    constructor(code, message, httpStatus) {
      super(message);
      this.code = code;
      this.httpStatus = httpStatus;
    }
    // Worth retrying: jobgw unreachable, overloaded or restarting.
    get transient() {
      return this.httpStatus === 0 || this.httpStatus === 429 || this.httpStatus >= 500 ||
          this.code === 'UNAVAILABLE';
    }
    describe() {
      return this.message ? `${this.code}: ${this.message}` : this.code;
    }
  }

  async function errorOf(response) {
    let code = `HTTP_${response.status}`;
    let message = response.statusText || '';
    try {
      const body = await response.json();
      if (body && typeof body.code === 'string' && body.code) code = body.code;
      if (body && typeof body.message === 'string') message = body.message;
    } catch (e) {
      // Not JSON (a proxy's page): the HTTP status is all there is.
    }
    return new ApiError(code, message, response.status);
  }

  const unreachable = () => new ApiError('UNAVAILABLE', 'cannot reach jobgw', 0);

  async function getJson(path, signal) {
    let response;
    try {
      response = await fetch(path, {headers: requestHeaders('application/json'), signal,
                                    cache: 'no-store'});
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw unreachable();
    }
    if (!response.ok) throw await errorOf(response);
    try {
      return await response.json();
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError('INTERNAL', 'jobgw sent an answer that is not JSON', response.status);
    }
  }

  async function postJson(path, body) {
    const headers = requestHeaders('application/json');
    headers.set('Content-Type', 'application/json');
    let response;
    try {
      response = await fetch(path, {method: 'POST', headers, body: JSON.stringify(body),
                                    cache: 'no-store'});
    } catch (e) {
      throw unreachable();
    }
    if (!response.ok) throw await errorOf(response);
    try {
      return await response.json();
    } catch (e) {
      throw new ApiError('INTERNAL', 'jobgw sent an answer that is not JSON', response.status);
    }
  }

  // An idempotency key per Run press, so a retried POST cannot start the plan twice.
  // crypto.randomUUID needs a secure context; jobgw may be served over plain HTTP.
  function requestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return `page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Server-Sent Events over fetch(): EventSource cannot send an Authorization header.

  // Parses the text/event-stream format: `field: value` lines, a blank line dispatches, lines
  // starting with ':' are comments, lines end with \n, \r\n or \r (also split across chunks).
  class SseParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.partial = '';
      this.skipLF = false;
      this.data = [];
      this.type = '';
      this.lastId = '';
      this.comments = 0;
    }

    push(text) {
      let i = 0;
      if (this.skipLF) {
        this.skipLF = false;
        if (text.charCodeAt(0) === 10) i = 1;
      }
      let start = i;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        const line = this.partial + text.slice(start, i);
        this.partial = '';
        if (c === 13) {
          if (i + 1 < text.length) {
            if (text.charCodeAt(i + 1) === 10) i++;
          } else {
            this.skipLF = true;
          }
        }
        start = i + 1;
        this.line(line);
      }
      if (start < text.length) this.partial += text.slice(start);
    }

    line(line) {
      if (line === '') {
        this.dispatch();
        return;
      }
      if (line.charCodeAt(0) === 58) {
        this.comments++;
        return;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.type = value;
      else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    }

    dispatch() {
      const data = this.data;
      const type = this.type;
      this.data = [];
      this.type = '';
      if (data.length === 0) return;
      this.onEvent({id: this.lastId, event: type || 'message', data: data.join('\n')});
    }
  }

  // Follows one SSE URL until it sends `event: end` or close() is called: reconnects with backoff
  // and Last-Event-ID after network errors, a silent connection, 5xx or UNAVAILABLE answers.
  // handlers: open(reconnected), event(type, json), reconnecting(error), end(code, message),
  // failed(apiError). `afterId` resumes an earlier stream of the same URL after that event.
  function openStream(url, handlers, afterId) {
    let closed = false;
    let controller = null;
    let wakeUp = null;
    let lastEventId = afterId || '';

    const sleep = (ms) => new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

    async function readOnce(reconnected) {
      controller = new AbortController();
      const signal = controller.signal;
      const headers = requestHeaders('text/event-stream');
      if (lastEventId) headers.set('Last-Event-ID', lastEventId);
      let response;
      try {
        response = await fetch(url, {headers, signal, cache: 'no-store'});
      } catch (e) {
        return {retry: true, error: unreachable(), progressed: false};
      }
      if (!response.ok) {
        const error = await errorOf(response);
        return {retry: error.transient, error, progressed: false};
      }
      if (closed) return {retry: false};
      handlers.open(reconnected);
      let ended = false;
      let progressed = false;
      const parser = new SseParser((ev) => {
        if (ended || closed) return;
        if (ev.id) lastEventId = ev.id;
        let body = null;
        try {
          body = JSON.parse(ev.data);
        } catch (e) {
          body = null;
        }
        if (ev.event === 'end') {
          ended = true;
          const b = body || {};
          handlers.end(typeof b.code === 'string' ? b.code : 'UNKNOWN',
                       typeof b.message === 'string' ? b.message : '');
          return;
        }
        // An event this page cannot read is skipped rather than ending the stream.
        if (!body || typeof body !== 'object') return;
        progressed = true;
        handlers.event(ev.event, body);
      });
      const decoder = new TextDecoder('utf-8');
      const reader = response.body.getReader();
      let stalled = false;
      let watchdog = 0;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          stalled = true;
          controller.abort();
        }, STREAM_STALL_MS);
      };
      arm();
      try {
        for (;;) {
          const {done, value} = await reader.read();
          if (done) break;
          arm();
          parser.push(decoder.decode(value, {stream: true}));
          if (ended || closed) break;
        }
      } catch (e) {
        // The connection dropped (or was aborted below): decided after the loop.
      } finally {
        clearTimeout(watchdog);
      }
      if (ended || closed) {
        reader.cancel().catch(() => {});
        return {retry: false};
      }
      const why = stalled ? 'the stream went silent' : 'the stream was cut';
      return {retry: true, error: new ApiError('UNAVAILABLE', why, 0), progressed};
    }

    (async () => {
      let attempt = 0;
      let reconnected = false;
      while (!closed) {
        const result = await readOnce(reconnected);
        if (closed || !result.retry) {
          if (!closed && result.error) handlers.failed(result.error);
          return;
        }
        if (result.progressed) attempt = 0;
        handlers.reconnecting(result.error);
        const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
        attempt = Math.min(attempt + 1, 16);
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2));
        reconnected = true;
      }
    })();

    return {
      close() {
        closed = true;
        if (controller) controller.abort();
        if (wakeUp) wakeUp();
      },
      lastEventId: () => lastEventId,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The connection indicator sums up the list poll and the two streams; an error wins over
  // reconnecting, which wins over live.

  const sources = new Map();  // name -> {state, text}
  const SOURCE_ORDER = ['list', 'status', 'log'];

  function setSource(name, state, text) {
    if (state === 'idle') sources.delete(name);
    else sources.set(name, {state, text: text || ''});
    renderConnection();
  }

  function renderConnection() {
    let shown = {state: 'connecting', text: 'connecting'};
    const pick = (state) =>
      SOURCE_ORDER.map((n) => sources.get(n)).find((s) => s && s.state === state);
    const error = pick('error');
    const reconnecting = pick('reconnecting');
    if (error) {
      shown = {state: 'error', text: `error: ${error.text}`};
    } else if (reconnecting) {
      shown = {state: 'reconnecting', text: `reconnecting (${reconnecting.text})`};
    } else if (pick('live')) {
      shown = {state: 'live', text: 'live'};
    }
    const conn = $('conn');
    setAttr(conn, 'data-state', shown.state);
    setText(conn.querySelector('.conn-glyph'),
            {live: '\u25CF', reconnecting: '\u21BB', error: '\u2717'}[shown.state] || '\u25CB');
    setText($('conn-text'), shown.text);
  }

  // A 401 anywhere means the token is missing or wrong: point the user at the token field once
  // per failure, not on every poll.
  let askedForToken = false;
  function reportError(source, error) {
    setSource(source, error.transient ? 'reconnecting' : 'error', error.describe());
    if (error.httpStatus === 401) {
      const input = $('token-input');
      input.setAttribute('aria-invalid', 'true');
      setText($('token-hint'), token ? 'jobgw refused this token: enter another.' :
                                       'jobgw needs an API token: enter it here.');
      if (!askedForToken) {
        askedForToken = true;
        input.focus();
      }
    }
  }

  function tokenAccepted() {
    if (!askedForToken) return;
    askedForToken = false;
    $('token-input').removeAttribute('aria-invalid');
    setText($('token-hint'), token ? 'Token in use for this tab.' : '');
  }

  // ---------------------------------------------------------------------------------------------
  // Rendering is batched: events mark what changed and one animation frame applies it all.

  const dirty = {head: false, steps: false, grid: false, hosts: new Set(), log: false,
                 prompt: false};
  let frameRequested = false;

  function scheduleRender() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(renderFrame);
  }

  function renderFrame() {
    frameRequested = false;
    const t0 = performance.now();
    if (dirty.head) renderJobHead();
    if (dirty.steps) renderSteps();
    if (dirty.grid) {
      renderGrid();
    } else if (dirty.hosts.size) {
      const step = selectedStep();
      for (const key of dirty.hosts) {
        const cell = cells.get(key);
        const host = step && step.hosts.get(key);
        if (cell && host) updateCell(cell, host);
      }
      renderHostCounts();
    }
    if (dirty.log) renderLog();
    if (dirty.prompt) renderPrompt();
    dirty.head = dirty.steps = dirty.grid = dirty.log = dirty.prompt = false;
    dirty.hosts.clear();
    const now = performance.now();
    const spent = now - t0;
    stats.renders++;
    stats.totalRenderMs += spent;
    if (spent > stats.maxRenderMs) stats.maxRenderMs = spent;
    stats.lastRenderAt = now;
  }

  // ---------------------------------------------------------------------------------------------
  // The job list.

  const filters = {state: '', scope: '', name: ''};
  let pagesWanted = 1;
  let listGeneration = 0;
  let listInFlight = false;
  let listAgain = false;
  let listSoon = 0;
  const jobItems = new Map();  // job key -> {li, button, name, badge, hosts, subs, time}

  const jobKey = (type, id, jobId) => `${type}/${id}/${jobId}`;
  const scopeTypeOf = (scope) => (scope && scope.type) || 'biz';

  async function refreshList() {
    if (listInFlight) {
      listAgain = true;
      return;
    }
    listInFlight = true;
    const generation = listGeneration;
    try {
      const jobs = [];
      let pageToken = '';
      for (let page = 0; page < pagesWanted; page++) {
        const q = new URLSearchParams();
        if (filters.state) q.set('state', filters.state);
        if (filters.scope) q.set('scope.id', filters.scope);
        if (filters.name) q.set('name_prefix', filters.name);
        q.set('page_size', String(LIST_PAGE_SIZE));
        if (pageToken) q.set('page_token', pageToken);
        const body = await getJson(`/v1/jobs?${q}`);
        if (body && Array.isArray(body.jobs)) jobs.push(...body.jobs);
        pageToken = (body && body.nextPageToken) || '';
        if (!pageToken) break;
      }
      if (generation === listGeneration) {
        renderJobList(jobs, pageToken !== '');
        setSource('list', 'live');
        tokenAccepted();
      }
    } catch (e) {
      if (e instanceof ApiError && generation === listGeneration) reportError('list', e);
    } finally {
      listInFlight = false;
      if (listAgain) {
        listAgain = false;
        refreshList();
      }
    }
  }

  function refreshListSoon() {
    if (listSoon) return;
    listSoon = setTimeout(() => {
      listSoon = 0;
      refreshList();
    }, LIST_AFTER_CHANGE_MS);
  }

  function filtersChanged() {
    listGeneration++;
    pagesWanted = 1;
    refreshList();
  }

  function makeJobItem() {
    const li = el('li');
    const button = el('button', 'job');
    button.type = 'button';
    const name = el('span', 'job-name');
    const line = el('span', 'job-line');
    const badge = el('span', 'badge');
    const hosts = el('span', 'job-hosts');
    const subs = el('span', 'job-subs');
    line.append(badge, hosts, subs);
    const time = el('span', 'job-time');
    button.append(name, line, time);
    li.append(button);
    return {li, button, name, badge, hosts, subs, time};
  }

  function setBadge(badge, cls, statusName) {
    setAttr(badge, 'data-status', cls);
    setText(badge, `${GLYPH[cls]} ${humanize(statusName)}`);
  }

  function renderJobList(jobs, more) {
    const list = $('job-list');
    const seen = new Set();
    const order = [];
    for (const job of jobs) {
      const type = scopeTypeOf(job.scope);
      const scopeId = (job.scope && job.scope.id) || '';
      const jobId = idString(job.jobInstanceId);
      const key = jobKey(type, scopeId, jobId);
      if (seen.has(key)) continue;
      seen.add(key);
      let item = jobItems.get(key);
      if (!item) {
        item = makeJobItem();
        item.button.dataset.jobId = jobId;
        item.button.dataset.scopeType = type;
        item.button.dataset.scopeId = scopeId;
        jobItems.set(key, item);
      }
      const statusName = jobStatusName(job.status);
      const cls = jobClass(job.status);
      setAttr(item.button, 'data-status', cls);
      setText(item.name, job.name || `job ${jobId}`);
      setBadge(item.badge, cls, statusName);
      const counts = job.hosts || {};
      const done = num(counts.success) + num(counts.failed);
      setText(item.hosts, `${done}/${num(counts.total)} hosts`);
      setText(item.subs, `${num(job.subscribers)} watching`);
      const started = num(job.startTimeMs) ? `started ${formatTime(job.startTimeMs)}` :
                                             `created ${formatTime(job.createTimeMs)}`;
      setText(item.time, `#${jobId} \u00B7 scope ${scopeId || '?'} \u00B7 ${started}`);
      setAttr(item.button, 'aria-label',
              `${job.name || `job ${jobId}`}, ${humanize(statusName)}, ${done} of ` +
                  `${num(counts.total)} hosts done, ${num(job.subscribers)} watching, ${started}`);
      order.push(item.li);
    }
    for (const [key, item] of jobItems) {
      if (!seen.has(key)) {
        item.li.remove();
        jobItems.delete(key);
      }
    }
    for (let i = 0; i < order.length; i++) {
      if (list.children[i] !== order[i]) list.insertBefore(order[i], list.children[i] || null);
    }
    markSelectedJob();
    $('jobs-empty').hidden = order.length !== 0;
    $('jobs-more').hidden = !more;
  }

  function markSelectedJob() {
    const key = current ? current.key : '';
    for (const [k, item] of jobItems) {
      if (k === key) item.button.setAttribute('aria-current', 'true');
      else item.button.removeAttribute('aria-current');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The selected job: its state as the status stream tells it.

  // stepPinned: the user chose the step shown; else the shown step follows the job's current one.
  let current = null;  // {key, type, scopeId, jobId, job, stepId, stepPinned, stream, refetching}

  const jobPath = (c) => ['/v1/scopes', c.type, c.scopeId, 'jobs', c.jobId]
      .map((part, i) => (i === 0 ? part : encodeURIComponent(part)))
      .join('/');

  function hostOf(result) {
    const h = result.host || {};
    return {
      key: hostKey(h),
      label: hostLabel(h),
      hostId: idString(h.hostId),
      cloudId: idString(h.cloudId),
      ip: h.ip || '',
      status: result.status,
      exitCode: num(result.exitCode),
      errorCode: num(result.errorCode),
      tag: result.tag || '',
    };
  }

  function modelOf(snapshot) {
    const s = snapshot || {};
    const steps = [];
    const stepsById = new Map();
    for (const st of s.steps || []) {
      const step = {
        id: idString(st.stepInstanceId),
        type: st.type,
        name: st.name || '',
        status: st.status,
        executeCount: num(st.executeCount),
        startTimeMs: st.startTimeMs,
        endTimeMs: st.endTimeMs,
        totalTimeMs: st.totalTimeMs,
        hosts: new Map(),
        order: [],
      };
      for (const r of st.hosts || []) {
        const host = hostOf(r);
        if (!step.hosts.has(host.key)) step.order.push(host.key);
        step.hosts.set(host.key, host);
      }
      steps.push(step);
      stepsById.set(step.id, step);
    }
    return {
      name: s.name || '',
      status: s.status,
      finished: !!s.finished,
      createTimeMs: s.createTimeMs,
      startTimeMs: s.startTimeMs,
      endTimeMs: s.endTimeMs,
      totalTimeMs: s.totalTimeMs,
      steps,
      stepsById,
    };
  }

  function selectedStep() {
    if (!current || !current.job) return null;
    return current.job.stepsById.get(current.stepId) || null;
  }

  // The step a multi-step job is at: the last one that has started (a later step stays PENDING
  // until the one before it ends), else the first.
  function currentStepId(job) {
    let pick = job.steps.length ? job.steps[0].id : '';
    for (const step of job.steps) {
      const name = jobStatusName(step.status);
      if (name !== 'PENDING' && name !== 'UNSPECIFIED') pick = step.id;
    }
    return pick;
  }

  function followCurrentStep() {
    const c = current;
    if (!c || !c.job || (c.stepPinned && c.job.stepsById.has(c.stepId))) return;
    const id = currentStepId(c.job);
    if (id !== c.stepId) {
      c.stepId = id;
      dirty.steps = dirty.grid = true;
    }
  }

  function replaceJob(snapshot) {
    current.job = modelOf(snapshot);
    if (!current.job.stepsById.has(current.stepId)) current.stepPinned = false;
    followCurrentStep();
    dirty.head = dirty.steps = dirty.grid = dirty.prompt = true;
    scheduleRender();
    if (current.job.finished) loadOutputs(current);
    if (current.pendingFollow) {
      const key = current.pendingFollow;
      current.pendingFollow = '';
      const step = selectedStep();
      if (step && step.hosts.has(key)) followHost(key);
    }
  }

  async function refetchJob() {
    const c = current;
    if (!c || c.refetching) return;
    c.refetching = true;
    try {
      const snapshot = await getJson(jobPath(c));
      if (current === c) replaceJob(snapshot);
    } catch (e) {
      if (current === c && e instanceof ApiError) showJobError(`Reading the job: ${e.describe()}`);
    } finally {
      c.refetching = false;
    }
  }

  function applyStatusEvent(ev) {
    stats.events++;
    const c = current;
    switch (ev.kind) {
      case 'EVENT_KIND_SNAPSHOT':
      case 'EVENT_KIND_FINISHED':
        if (ev.snapshot) replaceJob(ev.snapshot);
        refreshListSoon();
        return;
      case 'EVENT_KIND_JOB_CHANGED':
        if (!c.job) return;
        c.job.status = (ev.job || {}).newStatus;
        // A retried step sets a finished job going again; FINISHED says when it ends anew.
        c.job.finished = false;
        dirty.head = dirty.prompt = true;
        refreshListSoon();
        break;
      case 'EVENT_KIND_STEP_CHANGED':
      case 'EVENT_KIND_STEP_WAITING_USER': {
        if (!c.job) return;
        const change = ev.step || {};
        const step = c.job.stepsById.get(idString(change.stepInstanceId));
        if (!step) {
          refetchJob();
          return;
        }
        step.status = ev.kind === 'EVENT_KIND_STEP_WAITING_USER' ? 'JOB_STATUS_WAITING_USER' :
                                                                    change.newStatus;
        dirty.steps = dirty.prompt = true;
        followCurrentStep();
        refreshListSoon();
        break;
      }
      case 'EVENT_KIND_HOST_CHANGED': {
        if (!c.job) return;
        const change = ev.host || {};
        const step = c.job.stepsById.get(idString(change.stepInstanceId));
        if (!step) {
          refetchJob();
          return;
        }
        const key = hostKey(change.host);
        let host = step.hosts.get(key);
        if (!host) {
          host = hostOf({host: change.host});
          step.hosts.set(key, host);
          step.order.push(key);
          if (step.id === c.stepId) dirty.grid = true;
        }
        host.status = change.newStatus;
        host.exitCode = num(change.exitCode);
        host.errorCode = num(change.errorCode);
        host.tag = change.tag || '';
        if (step.id === c.stepId) dirty.hosts.add(key);
        dirty.steps = true;
        break;
      }
      case 'EVENT_KIND_JOB_UNREACHABLE': {
        const r = ev.reachability || {};
        const since = num(r.unreachableSinceMs);
        const when = since ? new Date(since).toLocaleTimeString() : 'a while';
        showJobNotice(`jobgw cannot reach JOB since ${when}` +
                      (r.lastError ? ` (${r.lastError})` : '') +
                      ': what you see may be out of date.');
        return;
      }
      case 'EVENT_KIND_JOB_REACHABLE':
        showJobNotice('');
        return;
      default:
        return;  // a kind this page does not know yet
    }
    scheduleRender();
  }

  function showJobNotice(text) {
    const p = $('job-notice');
    setText(p, text);
    p.hidden = !text;
  }

  function showJobError(text) {
    const p = $('job-error');
    setText(p, text);
    p.hidden = !text;
  }

  function selectJob(type, scopeId, jobId, summaryName) {
    const key = jobKey(type, scopeId, jobId);
    // Selecting the shown job again reopens its stream only once that stream has ended.
    if (current && current.key === key && !current.streamDone) return;
    closeJob();
    current = {key, type, scopeId, jobId, job: null, stepId: '', stepPinned: false, stream: null,
               refetching: false, streamDone: false, resumeAfterEnd: false, pendingFollow: '',
               operation: null, outputsRead: 0};
    showPlanView(false);
    history.replaceState(null, '',
                         `#${[type, scopeId, jobId].map(encodeURIComponent).join('/')}`);
    $('detail-empty').hidden = true;
    $('job-view').hidden = false;
    setText($('job-name'), summaryName || `job ${jobId}`);
    setText($('job-status'), 'loading\u2026');
    $('job-status').removeAttribute('data-status');
    showJobError('');
    showJobNotice('');
    resetOutputs();
    dirty.grid = dirty.steps = dirty.prompt = true;
    scheduleRender();
    markSelectedJob();
    watchJob();
  }

  // afterId: resume the job's ended stream after that event (a retried step runs the job again,
  // its events continuing the seqs), rather than start over from a snapshot.
  function watchJob(afterId) {
    const c = current;
    c.streamDone = false;
    // The page draws every host, so it asks for every host change (and the detailed schedule).
    c.stream = openStream(`${jobPath(c)}/events?detail=WATCH_DETAIL_HOSTS`, {
      open() {
        setSource('status', 'live');
        tokenAccepted();
      },
      event(type, body) {
        if (current === c && type === 'status') applyStatusEvent(body);
      },
      reconnecting(error) {
        if (current === c) setSource('status', 'reconnecting', error.describe());
      },
      end(code, message) {
        if (current !== c) return;
        c.streamDone = true;
        if (code === 'OK') {
          setSource('status', 'idle');
          if (c.resumeAfterEnd) resumeWatch(c);
        } else {
          setSource('status', 'error', message ? `${code}: ${message}` : code);
          showJobError(`Status stream ended: ${message ? `${code}: ${message}` : code}`);
        }
      },
      failed(error) {
        if (current !== c) return;
        c.streamDone = true;
        reportError('status', error);
        showJobError(`Status stream: ${error.describe()}`);
      },
    }, afterId);
  }

  function resumeWatch(c) {
    c.resumeAfterEnd = false;
    if (current !== c || !c.streamDone) return;
    const after = c.stream ? c.stream.lastEventId() : '';
    if (c.stream) c.stream.close();
    watchJob(after);
  }

  function closeJob() {
    stopFollowing();
    if (!current) return;
    if (current.stream) current.stream.close();
    current = null;
    setSource('status', 'idle');
  }

  function selectStep(stepId) {
    if (!current) return;
    current.stepPinned = true;
    if (current.stepId === stepId) return;
    current.stepId = stepId;
    dirty.steps = dirty.grid = true;
    scheduleRender();
  }

  function renderJobHead() {
    const job = current && current.job;
    if (!job) return;
    setText($('job-name'), job.name || `job ${current.jobId}`);
    setBadge($('job-status'), jobClass(job.status), jobStatusName(job.status));
    const meta = $('job-meta');
    const rows = [
      ['Job', `#${current.jobId}`],
      ['Scope', `${current.type} ${current.scopeId}`],
      ['Created', formatTime(job.createTimeMs)],
      ['Started', formatTime(job.startTimeMs)],
      ['Ended', formatTime(job.endTimeMs)],
      ['Run time', num(job.totalTimeMs) ? formatDuration(job.totalTimeMs) : '\u2014'],
    ];
    // One <div> per term and value, so the pair stays together when the grid wraps.
    if (meta.children.length !== rows.length) {
      meta.replaceChildren(...rows.map(() => {
        const pair = el('div');
        pair.append(el('dt'), el('dd'));
        return pair;
      }));
    }
    rows.forEach(([k, v], i) => {
      setText(meta.children[i].firstChild, k);
      setText(meta.children[i].lastChild, v);
    });
  }

  function countHosts(step) {
    const counts = {waiting: 0, running: 0, success: 0, failed: 0};
    for (const host of step.hosts.values()) counts[hostClass(host.status)]++;
    return counts;
  }

  function renderSteps() {
    const list = $('step-list');
    const job = current && current.job;
    if (!job) {
      list.replaceChildren();
      return;
    }
    while (list.children.length > job.steps.length) list.lastChild.remove();
    job.steps.forEach((step, i) => {
      let li = list.children[i];
      if (!li) {
        li = el('li');
        const b = el('button', 'step');
        b.type = 'button';
        b.append(el('span', 'step-name'), el('span', 'step-type'), el('span', 'badge'),
                 el('span', 'step-hosts'));
        li.append(b);
        list.append(li);
      }
      const b = li.firstChild;
      b.dataset.stepId = step.id;
      setAttr(b, 'aria-pressed', String(step.id === current.stepId));
      const cls = jobClass(step.status);
      const typeName = stepTypeName(step.type);
      b.dataset.stepType = typeName;
      setText(b.children[0], step.name || `step ${step.id}`);
      setText(b.children[1], humanize(typeName));
      setBadge(b.children[2], cls, jobStatusName(step.status));
      const counts = countHosts(step);
      // A confirmation step has no hosts: a host count would only say 0/0.
      setText(b.children[3], typeName === 'CONFIRMATION' && step.hosts.size === 0 ? '' :
                                 `${counts.success + counts.failed}/${step.hosts.size} hosts`);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The host grid: one button per host, kept in a map so an event touches only its own cell.
  // One cell at a time is in the tab order; arrow keys move within the grid.

  const cells = new Map();  // host key -> button
  let rovingKey = '';

  function makeCell(host) {
    const b = el('button', 'host');
    b.type = 'button';
    b.tabIndex = -1;
    b.dataset.host = host.key;
    const glyph = el('span', 'glyph');
    glyph.setAttribute('aria-hidden', 'true');
    b.append(glyph, el('span', 'host-name', host.label));
    updateCell(b, host);
    return b;
  }

  function updateCell(b, host) {
    const cls = hostClass(host.status);
    if (b.dataset.status !== cls) {
      b.dataset.status = cls;
      b.firstChild.textContent = GLYPH[cls];
    }
    setText(b.lastChild, host.label);
    setAttr(b, 'aria-label', `host ${host.label} ${cls}`);
    let title = `${host.label}: ${humanize(hostStatusName(host.status))}`;
    if (cls === 'success' || cls === 'failed') title += `, exit code ${host.exitCode}`;
    if (host.errorCode) title += `, error code ${host.errorCode}`;
    if (host.tag) title += `, tag ${host.tag}`;
    setAttr(b, 'title', title);
  }

  function renderGrid() {
    const grid = $('host-grid');
    const step = selectedStep();
    const wanted = [];
    if (step) {
      for (const key of step.order) {
        const host = step.hosts.get(key);
        let cell = cells.get(key);
        if (cell) updateCell(cell, host);
        else cells.set(key, (cell = makeCell(host)));
        wanted.push(cell);
      }
    }
    for (const [key, cell] of cells) {
      if (!step || !step.hosts.has(key)) cells.delete(key);
    }
    let same = grid.children.length === wanted.length;
    for (let i = 0; same && i < wanted.length; i++) same = grid.children[i] === wanted[i];
    if (!same) grid.replaceChildren(...wanted);
    if (!cells.has(rovingKey)) rovingKey = wanted.length ? wanted[0].dataset.host : '';
    for (const cell of wanted) {
      const tabIndex = cell.dataset.host === rovingKey ? 0 : -1;
      if (cell.tabIndex !== tabIndex) cell.tabIndex = tabIndex;
    }
    markFollowedCell();
    renderHostCounts();
  }

  function renderHostCounts() {
    const step = selectedStep();
    if (!step) {
      setText($('host-counts'), '');
      return;
    }
    const c = countHosts(step);
    const parts = [`${step.name || `step ${step.id}`}: ${step.hosts.size} hosts`];
    for (const cls of ['waiting', 'running', 'success', 'failed']) {
      parts.push(`${GLYPH[cls]} ${c[cls]} ${cls}`);
    }
    setText($('host-counts'), parts.join(' \u00B7 '));
  }

  function moveRoving(to) {
    const from = cells.get(rovingKey);
    if (from) from.tabIndex = -1;
    to.tabIndex = 0;
    rovingKey = to.dataset.host;
    to.focus();
  }

  function gridColumns(grid) {
    const first = grid.children[0];
    let n = 0;
    for (const cell of grid.children) {
      if (cell.offsetTop !== first.offsetTop) break;
      n++;
    }
    return Math.max(1, n);
  }

  function onGridKey(e) {
    const cell = e.target.closest('button.host');
    if (!cell) return;
    const grid = $('host-grid');
    const all = grid.children;
    const i = Array.prototype.indexOf.call(all, cell);
    let j = i;
    switch (e.key) {
      case 'ArrowRight': j = i + 1; break;
      case 'ArrowLeft': j = i - 1; break;
      case 'ArrowDown': j = i + gridColumns(grid); break;
      case 'ArrowUp': j = i - gridColumns(grid); break;
      case 'Home': j = 0; break;
      case 'End': j = all.length - 1; break;
      default: return;
    }
    e.preventDefault();
    j = Math.max(0, Math.min(all.length - 1, j));
    if (j !== i) moveRoving(all[j]);
  }

  // ---------------------------------------------------------------------------------------------
  // Following one host's log.

  let follow = null;  // {key, label, stepId, stream, nodes, total, pending, files, dropped}

  function followHost(key) {
    const step = selectedStep();
    const host = step && step.hosts.get(key);
    if (!host) return;
    stopFollowing();
    const q = new URLSearchParams({step_instance_id: step.id});
    if (host.hostId !== '0') q.set('host_ids', host.hostId);
    else q.set('hosts', `${host.cloudId}:${host.ip}`);
    const f = {
      key,
      stepId: step.id,
      label: host.label,
      stepName: step.name || `step ${step.id}`,
      stream: null,
      nodes: [],
      total: 0,
      pending: [],
      files: new Map(),
      dropped: false,
      reset: true,
    };
    follow = f;
    setText($('log-host'), `Following host ${f.label} in ${f.stepName}`);
    setLogStatus('', 'connecting\u2026');
    $('log-stop').hidden = false;
    markFollowedCell();
    dirty.log = true;
    scheduleRender();
    let expectResume = false;
    f.stream = openStream(`${jobPath(current)}/logs/follow?${q}`, {
      open(reconnected) {
        if (follow !== f) return;
        expectResume = reconnected;
        setSource('log', 'live');
        setLogStatus('running', 'following');
      },
      event(type, ev) {
        if (follow !== f || type !== 'log') return;
        // A resumed stream continues; a fresh one after a reconnect starts over from byte 0.
        if (expectResume && !ev.resumed) clearLog(f);
        expectResume = false;
        applyLogEvent(f, ev);
      },
      reconnecting(error) {
        if (follow !== f) return;
        setSource('log', 'reconnecting', error.describe());
        setLogStatus('waiting', `reconnecting (${error.describe()})`);
      },
      end(code, message) {
        if (follow !== f) return;
        setSource('log', 'idle');
        if (code !== 'OK') {
          setLogStatus('failed', `log stream ended: ${message ? `${code}: ${message}` : code}`);
        } else if (!f.ended) {
          setLogStatus('', 'log stream ended');
        }
      },
      failed(error) {
        if (follow !== f) return;
        reportError('log', error);
        setLogStatus('failed', `log stream: ${error.describe()}`);
      },
    });
  }

  // Ends the follow and empties the pane (another host or job was chosen).
  function stopFollowing() {
    if (!follow) return;
    follow.stream.close();
    follow = null;
    setSource('log', 'idle');
    $('log-stop').hidden = true;
    setText($('log-host'), 'No host followed.');
    setLogStatus('', '');
    markFollowedCell();
    dirty.log = true;
    scheduleRender();
  }

  // Ends the stream but keeps the text, for reading it at leisure.
  function pauseFollowing() {
    if (!follow) return;
    follow.stream.close();
    setSource('log', 'idle');
    $('log-stop').hidden = true;
    if (!follow.ended) setLogStatus('', 'stopped');
  }

  function markFollowedCell() {
    // The grid shows one step; the same host in another step is not the followed one.
    const key = follow && current && follow.stepId === current.stepId ? follow.key : '';
    const old = document.querySelector('#host-grid button.host[aria-current]');
    if (old && old.dataset.host !== key) old.removeAttribute('aria-current');
    const cell = key && cells.get(key);
    if (cell) cell.setAttribute('aria-current', 'true');
  }

  function setLogStatus(cls, text) {
    const s = $('log-status');
    if (cls) s.dataset.status = cls;
    else s.removeAttribute('data-status');
    setText(s, text);
  }

  function clearLog(f) {
    f.nodes = [];
    f.total = 0;
    f.pending = [];
    f.files.clear();
    f.dropped = false;
    f.reset = true;
    f.ended = false;
    f.endStatus = null;
    dirty.log = true;
    scheduleRender();
  }

  function fileEntryKey(e) {
    return [e.mode || 'FILE_LOG_MODE_UPLOAD', hostKey(e.srcHost), e.srcPath || '',
            hostKey(e.destHost), e.destPath || ''].join('|');
  }

  function fileEntryText(e) {
    const src = `${hostLabel(e.srcHost)}:${e.srcPath || ''}`;
    const download = e.mode === 'FILE_LOG_MODE_DOWNLOAD' || e.mode === 1;
    const route = download ? `${src} \u2192 ${hostLabel(e.destHost)}:${e.destPath || ''}` :
                             `upload ${src}`;
    const parts = [route, humanize(fileStatusName(e.status))];
    if (e.progress) parts.push(e.progress);
    if (e.size) parts.push(e.size);
    if (e.speed) parts.push(e.speed);
    return parts.join(' \u00B7 ');
  }

  function applyLogEvent(f, ev) {
    stats.events++;
    switch (ev.kind) {
      case 'LOG_EVENT_KIND_TEXT':
        if (ev.text) f.pending.push(ev.text);
        if (ev.truncated) {
          f.truncated = true;
          setLogStatus('running', 'log too long for jobgw to follow: read the rest with GetIpLogs');
        }
        break;
      case 'LOG_EVENT_KIND_FILE':
        for (const entry of ev.fileEntries || []) {
          const text = fileEntryText(entry);
          const key = fileEntryKey(entry);
          const old = f.files.get(key);
          f.files.set(key, {text, content: entry.content || '', li: old ? old.li : null});
        }
        break;
      case 'LOG_EVENT_KIND_HOST_END': {
        f.ended = true;
        // Shown by the frame that draws the host's last text, never before it.
        f.endStatus = {
          cls: hostClass(ev.status),
          text: `ended: ${humanize(hostStatusName(ev.status))}, exit code ${num(ev.exitCode)}`,
        };
        break;
      }
      default:
        return;
    }
    dirty.log = true;
    scheduleRender();
  }

  function renderLog() {
    const pane = $('log-pane');
    const files = $('log-files');
    const f = follow;
    if (!f) {
      pane.replaceChildren();
      files.replaceChildren();
      files.hidden = true;
      return;
    }
    if (f.reset) {
      f.reset = false;
      pane.replaceChildren();
      files.replaceChildren();
    }
    for (const entry of f.files.values()) {
      if (!entry.li) {
        entry.li = el('li');
        files.append(entry.li);
      }
      setText(entry.li, entry.text);
      setAttr(entry.li, 'title', entry.content);
    }
    files.hidden = f.files.size === 0;
    if (f.pending.length) {
      const text = f.pending.join('');
      f.pending = [];
      const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
      appendText(f, pane, text);
      if (atBottom) pane.scrollTop = pane.scrollHeight;
    }
    if (f.endStatus) {
      setLogStatus(f.endStatus.cls, f.endStatus.text);
      f.endStatus = null;
    }
  }

  function appendText(f, pane, text) {
    const last = f.nodes[f.nodes.length - 1];
    if (last && last.length + text.length <= LOG_NODE_CHARS) {
      last.appendData(text);
    } else {
      const node = document.createTextNode(text);
      pane.append(node);
      f.nodes.push(node);
    }
    f.total += text.length;
    while (f.total > LOG_CAP) {
      const first = f.nodes[0];
      const excess = f.total - LOG_CAP;
      if (first.length <= excess) {
        first.remove();
        f.nodes.shift();
        f.total -= first.length;
      } else {
        let cut = first.data.indexOf('\n', excess);
        cut = cut >= 0 && cut - excess < LOG_LINE_SLACK ? cut + 1 : excess;
        // Never split a surrogate pair.
        const code = first.data.charCodeAt(cut);
        if (code >= 0xdc00 && code <= 0xdfff) cut++;
        first.deleteData(0, cut);
        f.total -= cut;
      }
      if (!f.dropped) {
        f.dropped = true;
        setText($('log-host'), `Following host ${f.label} in ${f.stepName} (older output dropped)`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Step operations: a manual confirmation waiting for a user, and a failed step to retry.

  function waitingStep(job) {
    return job.steps.find((s) => jobStatusName(s.status) === 'WAITING_USER') || null;
  }

  // A failed step of a job that has ended: RETRY_FAILED runs its failed hosts again.
  function failedStep(job) {
    if (!job.finished) return null;
    return job.steps.find((s) => jobStatusName(s.status) === 'FAILED') || null;
  }

  function stepTitle(step) {
    return step.name ? `"${step.name}"` : `step ${step.id}`;
  }

  // current.operation: {stepId, kind ('confirm' | 'retry'), state ('busy' | 'sent' | 'denied' |
  // 'error'), text}, the last operation the page asked for.
  function renderPrompt() {
    const c = current;
    const job = c && c.job;
    const waiting = job ? waitingStep(job) : null;
    const failed = job ? failedStep(job) : null;
    const op = c && c.operation;

    const prompt = $('step-prompt');
    prompt.hidden = !waiting;
    if (waiting) {
      prompt.dataset.stepId = waiting.id;
      setText($('step-prompt-text'), `Step ${stepTitle(waiting)} is waiting for confirmation.`);
      const mine = op && op.kind === 'confirm' && op.stepId === waiting.id ? op : null;
      // Hidden once jobgw refused this caller: asking again would only be refused again.
      const denied = !!mine && mine.state === 'denied';
      $('step-confirm').hidden = denied;
      $('step-terminate').hidden = denied;
      $('step-confirm').disabled = !!mine && mine.state === 'busy';
      $('step-terminate').disabled = !!mine && mine.state === 'busy';
      setPromptStatus($('step-prompt-status'), mine);
    }

    // Once a retry is accepted the job runs again (no longer finished), so the box goes.
    const retry = $('step-retry-box');
    retry.hidden = !failed;
    if (failed) {
      retry.dataset.stepId = failed.id;
      setText($('step-retry-text'), `Step ${stepTitle(failed)} failed.`);
      const mine = op && op.kind === 'retry' && op.stepId === failed.id ? op : null;
      $('step-retry').hidden = !!mine && mine.state === 'denied';
      $('step-retry').disabled = !!mine && mine.state === 'busy';
      setPromptStatus($('step-retry-status'), mine);
    }
  }

  function setPromptStatus(p, op) {
    if (!op) {
      p.removeAttribute('data-status');
      setText(p, '');
      return;
    }
    p.dataset.status = op.state;
    setText(p, op.text);
  }

  const OPERATION = {
    confirm: 'STEP_OPERATION_CONFIRM',
    terminate: 'STEP_OPERATION_TERMINATE_CONFIRMATION',
    retry: 'STEP_OPERATION_RETRY_FAILED',
  };

  // There is no "may I operate this step?" call in jobgw's API: the page offers the buttons and
  // tells a 403 PERMISSION_DENIED answer apart as "you may not", hiding them from then on.
  async function operateStep(which, stepId) {
    const c = current;
    if (!c || !stepId) return;
    const kind = which === 'retry' ? 'retry' : 'confirm';
    const verb = {confirm: 'confirm', terminate: 'terminate', retry: 'retry'}[which];
    c.operation = {stepId, kind, state: 'busy', text: `Asking JOB to ${verb}\u2026`};
    dirty.prompt = true;
    scheduleRender();
    const path = `${jobPath(c)}/steps/${encodeURIComponent(stepId)}:operate`;
    try {
      await postJson(path, {operation: OPERATION[which]});
      if (current !== c) return;
      const done = {confirm: 'Confirmed: the job goes on.',
                    terminate: 'Refused: the job ends.',
                    retry: 'Retrying the failed hosts\u2026'}[which];
      c.operation = {stepId, kind, state: 'sent', text: done};
      if (which === 'retry') {
        // The job runs again: keep following it where its stream ended.
        c.job.finished = false;
        resetOutputs();
        c.resumeAfterEnd = true;
        if (c.streamDone) resumeWatch(c);
      }
    } catch (e) {
      if (current !== c || !(e instanceof ApiError)) return;
      if (e.httpStatus === 403 || e.code === 'PERMISSION_DENIED') {
        const what = kind === 'retry' ? 'retry this step' : 'confirm this step';
        c.operation = {stepId, kind, state: 'denied', text: `You may not ${what}: ${e.describe()}`};
      } else {
        c.operation = {stepId, kind, state: 'error', text: e.describe()};
        if (e.httpStatus === 401) reportError('status', e);
      }
    }
    dirty.prompt = true;
    scheduleRender();
  }

  // ---------------------------------------------------------------------------------------------
  // A finished job's outputs (GetJobOutputs): final variables, log variables, last step's hosts.

  function resetOutputs() {
    $('job-outputs').hidden = true;
    for (const id of ['outputs-vars', 'outputs-log-vars', 'outputs-hosts']) $(id).replaceChildren();
    setText($('outputs-status'), '');
  }

  async function loadOutputs(c) {
    const read = ++c.outputsRead;
    try {
      const outputs = await getJson(`${jobPath(c)}/outputs`);
      if (current === c && read === c.outputsRead) renderOutputs(outputs || {});
    } catch (e) {
      if (current !== c || read !== c.outputsRead || !(e instanceof ApiError)) return;
      resetOutputs();
      $('job-outputs').hidden = false;
      setText($('outputs-status'), `Reading the outputs: ${e.describe()}`);
    }
  }

  function pairs(dl, entries, emptyText) {
    const rows = entries.map(([name, value]) => {
      const pair = el('div');
      pair.dataset.name = name;
      pair.append(el('dt', '', name), el('dd', '', value));
      return pair;
    });
    if (!rows.length) {
      const pair = el('div');
      pair.append(el('dd', 'muted', emptyText));
      rows.push(pair);
    }
    dl.replaceChildren(...rows);
  }

  function renderOutputs(o) {
    const vars = (list) => (Array.isArray(list) ? list : [])
        .map((v) => [String((v && v.name) || ''), String((v && v.value) || '')]);
    pairs($('outputs-vars'), vars(o.variables), 'None.');
    pairs($('outputs-log-vars'), vars(o.logVariables), 'None.');
    const h = o.lastStepHosts || {};
    const hosts = (list) => (Array.isArray(list) && list.length ?
                                 list.map(hostLabel).join(', ') : 'none');
    pairs($('outputs-hosts'), [
      ['Succeeded', hosts(h.successHosts)],
      ['Non-zero exit', hosts(h.nonZeroExitHosts)],
      ['Other failures', hosts(h.otherFailedHosts)],
    ], '');
    setText($('outputs-status'), o.finished ? '' : 'The job still runs: outputs may change.');
    $('job-outputs').hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Job plans: the scope's plans, one plan's steps and variables, and running it.

  const plans = {generation: 0, loaded: false, shown: null};  // shown: {scopeId, id, name, fields}

  function showTab(name, focus) {
    const isPlans = name === 'plans';
    for (const [id, on] of [['tab-jobs', !isPlans], ['tab-plans', isPlans]]) {
      const tab = $(id);
      setAttr(tab, 'aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on && focus) tab.focus();
    }
    $('jobs-panel').hidden = isPlans;
    $('plans-panel').hidden = !isPlans;
    if (isPlans) {
      const input = $('plans-scope');
      if (!input.value.trim() && filters.scope) input.value = filters.scope;
      if (!plans.loaded) loadPlans();
    }
  }

  const plansPath = (scopeId) => `/v1/scopes/biz/${encodeURIComponent(scopeId)}/plans`;

  async function loadPlans() {
    const generation = ++plans.generation;
    plans.loaded = true;
    const scopeId = $('plans-scope').value.trim();
    const list = $('plan-list');
    if (!scopeId) {
      list.replaceChildren();
      setText($('plans-status'), 'Enter a scope id to see its plans.');
      return;
    }
    setText($('plans-status'), 'Loading plans\u2026');
    try {
      const body = await getJson(`${plansPath(scopeId)}?page_size=1000`);
      if (generation !== plans.generation) return;
      const items = (body && Array.isArray(body.plans)) ? body.plans : [];
      list.replaceChildren(...items.map((p) => planItem(scopeId, p)));
      const total = num(body && body.total);
      setText($('plans-status'), items.length ? (total > items.length ?
          `${items.length} of ${total} plans.` : '') : 'No plans in this scope.');
      tokenAccepted();
    } catch (e) {
      if (generation !== plans.generation || !(e instanceof ApiError)) return;
      list.replaceChildren();
      setText($('plans-status'), `Listing plans: ${e.describe()}`);
      if (e.httpStatus === 401) reportError('list', e);
    }
  }

  function planItem(scopeId, p) {
    const li = el('li');
    const b = el('button', 'job plan');
    b.type = 'button';
    const id = idString(p.jobPlanId);
    b.dataset.planId = id;
    b.dataset.scopeId = scopeId;
    const changed = num(p.lastModifyTimeMs) ? formatTime(p.lastModifyTimeMs) : '\u2014';
    const line = `#${id} \u00B7 by ${p.creator || '?'} \u00B7 changed ${changed}` +
        (p.needUpdate ? ' \u00B7 template changed since' : '');
    b.append(el('span', 'job-name', p.name || `plan ${id}`), el('span', 'job-time', line));
    if (plans.shown && plans.shown.id === id && plans.shown.scopeId === scopeId) {
      b.setAttribute('aria-current', 'true');
    }
    li.append(b);
    return li;
  }

  function showPlanView(on) {
    $('plan-view').hidden = !on;
    if (on) {
      $('job-view').hidden = true;
      $('detail-empty').hidden = true;
    } else {
      plans.shown = null;
      markSelectedPlan();
    }
  }

  function markSelectedPlan() {
    for (const b of document.querySelectorAll('#plan-list button.plan')) {
      const on = !!plans.shown && b.dataset.planId === plans.shown.id &&
          b.dataset.scopeId === plans.shown.scopeId;
      if (on) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
  }

  async function selectPlan(scopeId, id) {
    closeJob();
    markSelectedJob();
    showPlanView(true);
    const shown = {scopeId, id, name: '', fields: []};
    plans.shown = shown;
    markSelectedPlan();
    setText($('plan-name'), `plan ${id}`);
    $('plan-meta').replaceChildren();
    $('plan-steps').replaceChildren();
    $('plan-vars').replaceChildren();
    showPlanError('');
    $('plan-run').disabled = true;
    try {
      const plan = await getJson(`${plansPath(scopeId)}/${encodeURIComponent(id)}`);
      if (plans.shown !== shown) return;
      renderPlan(shown, plan || {});
      $('plan-run').disabled = false;
    } catch (e) {
      if (plans.shown === shown && e instanceof ApiError) {
        showPlanError(`Reading the plan: ${e.describe()}`);
      }
    }
  }

  function showPlanError(text) {
    const p = $('plan-error');
    setText(p, text);
    p.hidden = !text;
  }

  function defaultHostsText(targets) {
    const t = targets || {};
    const ids = (Array.isArray(t.hostIds) ? t.hostIds : []).map(idString);
    const others = (Array.isArray(t.hosts) ? t.hosts : []).map(hostLabel);
    return {ids: ids.join(', '), exact: others.length === 0 && !(t.dynamicGroupIds || []).length &&
                                       !(t.topoNodes || []).length,
            all: [...ids.map((i) => `id ${i}`), ...others].join(', ')};
  }

  function renderPlan(shown, plan) {
    shown.name = plan.name || `plan ${shown.id}`;
    setText($('plan-name'), shown.name);
    const meta = [['Plan', `#${shown.id}`], ['Scope', `biz ${shown.scopeId}`],
                  ['Creator', plan.creator || '\u2014'],
                  ['Changed', formatTime(plan.lastModifyTimeMs)]];
    $('plan-meta').replaceChildren(...meta.map(([k, v]) => {
      const pair = el('div');
      pair.append(el('dt', '', k), el('dd', '', v));
      return pair;
    }));

    const steps = Array.isArray(plan.steps) ? plan.steps : [];
    $('plan-steps').replaceChildren(...steps.map((st) => {
      const li = el('li', 'plan-step');
      const type = stepTypeName(st.type);
      li.dataset.stepType = type;
      li.append(el('span', 'step-name', st.name || `step ${idString(st.id)}`),
                el('span', 'step-type', humanize(type)));
      return li;
    }));

    const vars = Array.isArray(plan.variables) ? plan.variables : [];
    shown.fields = vars.map((v, i) => planField(v, i));
    $('plan-vars').replaceChildren(...shown.fields.map((f) => f.box));
    if (!vars.length) $('plan-vars').append(el('p', 'muted', 'This plan has no variables.'));
  }

  function planField(v, i) {
    const name = String(v.name || '');
    const type = varTypeName(v.type);
    const box = el('div', 'plan-var');
    box.dataset.var = name;
    const input = el('input');
    input.id = `plan-var-${i}`;
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.dataset.varName = name;
    input.dataset.varType = type;
    const label = el('label', 'var-name', name);
    label.htmlFor = input.id;
    const parts = [humanize(type)];
    if (v.required) parts.push('required');
    let initial = '';
    if (type === 'PASSWORD') {
      // Never pre-filled: jobgw does not send a password's default, and an empty field means
      // "keep it".
      input.type = 'password';
      input.autocomplete = 'new-password';
      if (v.hasDefault) {
        parts.push('has a default (hidden)');
        input.placeholder = 'keep the default';
      }
    } else if (type === 'HOST_LIST') {
      input.type = 'text';
      const d = defaultHostsText(v.defaultHosts);
      if (d.all) parts.push(`default: ${d.all}`);
      // Only a default made of host ids can be shown as the field's text and sent back as is.
      if (d.exact) initial = d.ids;
      else if (d.all) input.placeholder = 'keep the default';
      input.inputMode = 'numeric';
    } else {
      input.type = 'text';
      initial = String(v.defaultValue || '');
      if (v.hasDefault || initial) parts.push(`default: ${initial === '' ? '(empty)' : initial}`);
    }
    input.value = initial;
    const info = el('span', 'var-info', parts.join(' \u00B7 '));
    info.id = `plan-var-${i}-info`;
    input.setAttribute('aria-describedby', info.id);
    box.append(label, info, input);
    if (v.description) box.append(el('span', 'hint var-desc', String(v.description)));
    return {name, type, input, initial, box};
  }

  // The values the user changed, by name; null (with the error shown) when one cannot be sent.
  function changedVariables(fields) {
    const out = [];
    for (const f of fields) {
      const value = f.input.value;
      if (f.type === 'PASSWORD') {
        if (value !== '') out.push({name: f.name, value});
        continue;
      }
      if (value === f.initial) continue;
      if (f.type === 'HOST_LIST') {
        const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
        const bad = ids.find((s) => !/^[0-9]+$/.test(s));
        if (bad !== undefined) {
          showPlanError(`${f.name}: "${bad}" is not a host id (host ids are numbers separated by ` +
                        'commas)');
          f.input.focus();
          return null;
        }
        out.push({name: f.name, hosts: {hostIds: ids}});
      } else {
        out.push({name: f.name, value});
      }
    }
    return out;
  }

  async function runPlan() {
    const shown = plans.shown;
    if (!shown) return;
    showPlanError('');
    const variables = changedVariables(shown.fields);
    if (!variables) return;
    const run = $('plan-run');
    run.disabled = true;
    try {
      const ref = await postJson(`${plansPath(shown.scopeId)}/${encodeURIComponent(shown.id)}:execute`,
                                 {variables, requestId: requestId()});
      if (plans.shown !== shown) return;
      const jobId = idString(ref && ref.jobInstanceId);
      // Passwords typed for this run are not kept on the page.
      for (const f of shown.fields) if (f.type === 'PASSWORD') f.input.value = '';
      showTab('jobs', false);
      refreshList();
      selectJob('biz', shown.scopeId, jobId, (ref && ref.jobInstanceName) || shown.name);
    } catch (e) {
      if (plans.shown === shown && e instanceof ApiError) showPlanError(e.describe());
    } finally {
      run.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring.

  function useToken() {
    const input = $('token-input');
    token = input.value.trim();
    input.value = '';
    storeToken(token);
    askedForToken = false;
    input.removeAttribute('aria-invalid');
    setText($('token-hint'), token ? 'Token in use for this tab.' : 'No token.');
    sources.clear();
    renderConnection();
    listGeneration++;
    refreshList();
    if (plans.loaded) loadPlans();
    if (current) {
      const {type, scopeId, jobId} = current;
      const followed = follow ? follow.key : '';
      const stepId = current.stepId;
      closeJob();
      selectJob(type, scopeId, jobId);
      if (followed) {
        current.stepId = stepId;
        current.pendingFollow = followed;
      }
    }
  }

  function selectFromHash() {
    const parts = location.hash.replace(/^#/, '').split('/');
    if (parts.length !== 3 || parts.some((p) => !p)) return;
    let decoded;
    try {
      decoded = parts.map(decodeURIComponent);
    } catch (e) {
      return;
    }
    selectJob(decoded[0], decoded[1], decoded[2]);
  }

  let debounce = 0;
  function onFilterInput() {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      filters.scope = $('filter-scope').value.trim();
      filters.name = $('filter-name').value;
      filtersChanged();
    }, FILTER_DEBOUNCE_MS);
  }

  function start() {
    if (token) setText($('token-hint'), 'Token in use for this tab.');
    $('token-use').addEventListener('click', useToken);
    $('token-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        useToken();
      }
    });
    $('filter-state').addEventListener('change', (e) => {
      filters.state = e.target.value;
      filtersChanged();
    });
    $('filter-scope').addEventListener('input', onFilterInput);
    $('filter-name').addEventListener('input', onFilterInput);
    $('jobs-more').addEventListener('click', () => {
      pagesWanted++;
      refreshList();
    });
    $('job-list').addEventListener('click', (e) => {
      const b = e.target.closest('button.job');
      if (!b) return;
      const name = b.querySelector('.job-name');
      selectJob(b.dataset.scopeType, b.dataset.scopeId, b.dataset.jobId,
                name ? name.textContent : '');
    });
    $('step-list').addEventListener('click', (e) => {
      const b = e.target.closest('button.step');
      if (b) selectStep(b.dataset.stepId);
    });
    const grid = $('host-grid');
    grid.addEventListener('click', (e) => {
      const b = e.target.closest('button.host');
      if (!b) return;
      if (b.dataset.host !== rovingKey) moveRoving(b);
      followHost(b.dataset.host);
    });
    grid.addEventListener('keydown', onGridKey);
    grid.addEventListener('focusin', (e) => {
      const b = e.target.closest('button.host');
      if (b && b.dataset.host !== rovingKey) {
        const old = cells.get(rovingKey);
        if (old) old.tabIndex = -1;
        b.tabIndex = 0;
        rovingKey = b.dataset.host;
      }
    });
    $('log-stop').addEventListener('click', pauseFollowing);
    $('tab-jobs').addEventListener('click', () => showTab('jobs', false));
    $('tab-plans').addEventListener('click', () => showTab('plans', false));
    for (const id of ['tab-jobs', 'tab-plans']) {
      $(id).addEventListener('keydown', (e) => {
        if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
        e.preventDefault();
        const toPlans = e.key === 'End' || (e.key !== 'Home' && id === 'tab-jobs');
        showTab(toPlans ? 'plans' : 'jobs', true);
      });
    }
    let plansDebounce = 0;
    $('plans-scope').addEventListener('input', () => {
      clearTimeout(plansDebounce);
      plansDebounce = setTimeout(loadPlans, FILTER_DEBOUNCE_MS);
    });
    $('plan-list').addEventListener('click', (e) => {
      const b = e.target.closest('button.plan');
      if (b) selectPlan(b.dataset.scopeId, b.dataset.planId);
    });
    $('plan-run').addEventListener('click', runPlan);
    $('step-confirm').addEventListener(
        'click', () => operateStep('confirm', $('step-prompt').dataset.stepId));
    $('step-terminate').addEventListener(
        'click', () => operateStep('terminate', $('step-prompt').dataset.stepId));
    $('step-retry').addEventListener(
        'click', () => operateStep('retry', $('step-retry-box').dataset.stepId));
    window.addEventListener('hashchange', selectFromHash);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') refreshList();
    });
    setInterval(() => {
      if (document.visibilityState === 'visible') refreshList();
    }, LIST_INTERVAL_MS);
    renderConnection();
    refreshList();
    selectFromHash();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
