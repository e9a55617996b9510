// jobgw's live status page: the job list (ListJobs), a job's steps and hosts (the status event
// stream) and one host's log (the log follow stream). Plain DOM, no framework, no build step: the
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
  // failed(apiError).
  function openStream(url, handlers) {
    let closed = false;
    let controller = null;
    let wakeUp = null;
    let lastEventId = '';

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

  const dirty = {head: false, steps: false, grid: false, hosts: new Set(), log: false};
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
    dirty.head = dirty.steps = dirty.grid = dirty.log = false;
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

  let current = null;  // {key, type, scopeId, jobId, job, stepId, stream, refetching}

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

  function replaceJob(snapshot) {
    current.job = modelOf(snapshot);
    if (!current.job.stepsById.has(current.stepId)) {
      current.stepId = current.job.steps.length ? current.job.steps[0].id : '';
    }
    dirty.head = dirty.steps = dirty.grid = true;
    scheduleRender();
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
        dirty.head = true;
        refreshListSoon();
        break;
      case 'EVENT_KIND_STEP_CHANGED': {
        if (!c.job) return;
        const change = ev.step || {};
        const step = c.job.stepsById.get(idString(change.stepInstanceId));
        if (!step) {
          refetchJob();
          return;
        }
        step.status = change.newStatus;
        dirty.steps = true;
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
    current = {key, type, scopeId, jobId, job: null, stepId: '', stream: null, refetching: false,
               streamDone: false, pendingFollow: ''};
    history.replaceState(null, '',
                         `#${[type, scopeId, jobId].map(encodeURIComponent).join('/')}`);
    $('detail-empty').hidden = true;
    $('job-view').hidden = false;
    setText($('job-name'), summaryName || `job ${jobId}`);
    setText($('job-status'), 'loading\u2026');
    $('job-status').removeAttribute('data-status');
    showJobError('');
    showJobNotice('');
    dirty.grid = dirty.steps = true;
    scheduleRender();
    markSelectedJob();
    watchJob();
  }

  function watchJob() {
    const c = current;
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
    });
  }

  function closeJob() {
    stopFollowing();
    if (!current) return;
    if (current.stream) current.stream.close();
    current = null;
    setSource('status', 'idle');
  }

  function selectStep(stepId) {
    if (!current || current.stepId === stepId) return;
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
        b.append(el('span', 'step-name'), el('span', 'badge'), el('span', 'step-hosts'));
        li.append(b);
        list.append(li);
      }
      const b = li.firstChild;
      b.dataset.stepId = step.id;
      setAttr(b, 'aria-pressed', String(step.id === current.stepId));
      const cls = jobClass(step.status);
      setText(b.children[0], step.name || `step ${step.id}`);
      setBadge(b.children[1], cls, jobStatusName(step.status));
      const counts = countHosts(step);
      setText(b.children[2], `${counts.success + counts.failed}/${step.hosts.size} hosts`);
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
    const key = follow ? follow.key : '';
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
