// Live changes: the `events` subscription over graphql-transport-ws (the vendored graphql-ws client). A view
// registers handlers with `on`; after a dropped connection the client reconnects and resumes after the last event
// it saw, so nothing made elsewhere is missed. The first subscription resumes after the `eventCursor` read (`mark`)
// before the view loaded, so a change committed while it loaded comes too.

const CURSOR = `query BoardEventCursor { eventCursor }`;

const EVENTS = `subscription BoardEvents($after: ID) {
  events(after: $after) {
    id kind occurredAt region
    site { code }
    item { sku }
    transfer { id status }
    backorder { id status }
    reorder { id status }
    alert { id kind }
  }
}`;

export class Live {
  constructor(token, statusElement) {
    this.token = token;
    this.statusElement = statusElement;
    this.handlers = new Set();
    this.after = null;
    this.client = null;
    this.unsubscribe = null;
    this.received = 0;
  }

  /** Where the stream stands: read before the view loads what it shows; `start` subscribes after it. */
  async mark(api) {
    this.after = (await api.query(CURSOR)).eventCursor;
  }

  /** Call `handler(event)` for each event as it commits; returns a function that stops it. */
  on(handler) {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  status(state, text) {
    this.statusElement.dataset.state = state;
    this.statusElement.textContent = text;
  }

  start() {
    if (!window.graphqlWs) {
      this.status("off", "live updates unavailable");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.client = window.graphqlWs.createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: { Authorization: `Bearer ${this.token}` },
      lazy: false,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: {
        connected: () => this.status("on", "live"),
        closed: () => this.status("off", "reconnecting…"),
      },
    });
    this.subscribe();
  }

  subscribe() {
    this.unsubscribe = this.client.subscribe(
      { query: EVENTS, variables: { after: this.after } },
      {
        next: ({ data }) => {
          const event = data && data.events;
          if (!event) return;
          this.after = event.id;
          this.received += 1;
          document.body.dataset.liveEvents = String(this.received);
          for (const handler of this.handlers) {
            try {
              handler(event);
            } catch (error) {
              console.error(error);
            }
          }
        },
        error: () => {
          this.status("off", "reconnecting…");
          setTimeout(() => this.subscribe(), 2000);
        },
        complete: () => {},
      },
    );
  }

  stop() {
    if (this.unsubscribe) this.unsubscribe();
    if (this.client) this.client.dispose();
    this.handlers.clear();
    this.status("off", "offline");
  }
}
