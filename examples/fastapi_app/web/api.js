// The app's /api/v1 routes, as the page calls them: JSON requests with the
// X-User-Id header, and streamed replies read as Server-Sent Events.

/** An error answered by the API: `{"error": code, "detail": message}`. */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  /** The error a failed response carries (its body when it is the API's shape). */
  static async from(response) {
    let code = "http_error";
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") {
        code = body.error;
        detail = body.detail || detail;
      }
    } catch {
      // not JSON: keep the status line
    }
    return new ApiError(response.status, code, detail);
  }
}

/** Splits a Server-Sent Events text stream into `{event, data}` objects. */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The API client: every call carries the user id the page was given. */
export class Api {
  /**
   * @param {string} base - The API root, relative to the page (`api/v1`).
   * @param {() => string} user - Returns the current user id.
   * @param {(pending: number) => void} [onPending] - Told how many requests
   *   (streams included) are in flight, whenever that changes.
   */
  constructor(base, user, onPending = () => {}) {
    this.base = new URL(base.endsWith("/") ? base : `${base}/`, document.baseURI);
    this.user = user;
    this.pending = 0;
    this.onPending = onPending;
  }

  track(delta) {
    this.pending += delta;
    this.onPending(this.pending);
  }

  url(path, query) {
    const url = new URL(path.replace(/^\//, ""), this.base);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    return url;
  }

  init(method, body, signal, accept = "application/json") {
    const headers = { "X-User-Id": this.user(), Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    };
  }

  /** One JSON request; resolves to the parsed body (null for 204), rejects with ApiError. */
  async request(method, path, { query, body, signal } = {}) {
    this.track(1);
    try {
      const response = await fetch(this.url(path, query), this.init(method, body, signal));
      if (!response.ok) throw await ApiError.from(response);
      return response.status === 204 ? null : await response.json();
    } finally {
      this.track(-1);
    }
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  patch(path, body) {
    return this.request("PATCH", path, { body });
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  /**
   * A streamed reply: yields `{event, data}` for start, delta..., then done,
   * error or cancelled. Errors before the stream opens reject with ApiError.
   */
  async *stream(path, body, signal) {
    this.track(1);
    try {
      const response = await fetch(
        this.url(path),
        this.init("POST", body, signal, "text/event-stream"),
      );
      if (!response.ok) throw await ApiError.from(response);
      yield* readEvents(response.body);
    } finally {
      this.track(-1);
    }
  }
}

/**
 * A decimal string from the API ("0.0000625", "6.25E-7", "12") in plain
 * notation, exactly: money never goes through a float on its way to the screen.
 */
export function plainDecimal(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(String(text).trim());
  if (!match || !(match[2] || match[3])) return String(text);
  const [, sign, whole = "", fraction = "", exponent = "0"] = match;
  let digits = whole + fraction;
  let point = whole.length + Number(exponent); // the decimal point, counted from the left
  while (digits.length > 1 && digits.startsWith("0")) {
    digits = digits.slice(1);
    point -= 1;
  }
  let result;
  if (point <= 0) result = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) result = digits + "0".repeat(point - digits.length);
  else result = `${digits.slice(0, point)}.${digits.slice(point)}`;
  if (result.includes(".")) result = result.replace(/0+$/, "").replace(/\.$/, "");
  return sign === "-" && /[1-9]/.test(result) ? `-${result}` : result;
}

/** A cost for people: "$0.0000625" (exact), "$0". */
export function formatCost(text) {
  return `$${plainDecimal(text)}`;
}
