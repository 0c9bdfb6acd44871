// The board's only way to the service: the public GraphQL endpoint, with the signed-in token.

/** The service refused the request as a whole (a GraphQL error, a refused token, an answer that is not JSON). */
export class ApiError extends Error {
  constructor(message, { status = 0, code = null, network = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.network = network; // nothing came back: safe to retry with the same Idempotency-Key
  }
}

/** A random UUID (version 4); crypto.randomUUID exists only on https and localhost pages, this works on any. */
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Api {
  constructor(token) {
    this.token = token;
  }

  async request(query, variables = {}, key = null) {
    const headers = { "Content-Type": "application/json", Authorization: `Bearer ${this.token}` };
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    } catch (error) {
      throw new ApiError("The service cannot be reached.", { network: true });
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`The service answered ${response.status}.`, { status: response.status });
    }
    const errors = body.errors || [];
    if (errors.length || !response.ok) {
      const first = errors[0] || {};
      const message = errors.map((e) => e.message).join(" ") || `The service answered ${response.status}.`;
      throw new ApiError(message, { status: response.status, code: first.extensions?.code ?? body.code ?? null });
    }
    return body.data;
  }

  /** A read. */
  query(query, variables = {}) {
    return this.request(query, variables);
  }

  /** A change, sent with an Idempotency-Key: when nothing came back it is sent again with the same key, so it
   * applies once however often it is sent (a double click reuses the key of the click in flight: see `once`). */
  async mutate(query, variables = {}, key = newKey()) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.request(query, variables, key);
      } catch (error) {
        if (!error.network || attempt >= 3) throw error;
        await sleep(400 * attempt);
      }
    }
  }
}

/** Run `action(key)` for a button: while it runs, the button is disabled and further clicks are ignored; the
 * action receives one Idempotency-Key for all its tries. */
export async function once(button, action) {
  if (button.dataset.busy) return undefined;
  button.dataset.busy = "1";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action(newKey());
  } finally {
    delete button.dataset.busy;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
