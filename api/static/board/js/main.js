// The board's entry: sign in with a token (kept in this tab's session storage), learn who it is (`me`), and show
// the view of its role: the coordinator's (COORDINATOR, or ADMIN for a region it picks) or the site's (SITE).

import { Api, ApiError } from "./api.js";
import { Live } from "./live.js";
import { clear, h } from "./ui.js";

const STORED = "stockpool.board.token";
const ME = `query BoardMe { me { name role region site { code name region } } }`;
const REGIONS = `query BoardRegions { sites(first: 500) { edges { node { region } } } }`;

const $ = (id) => document.getElementById(id);
let live = null;

function showSignIn(message = "") {
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  clear($("view"));
  $("sign-in-error").textContent = message;
  $("token").focus();
}

async function enter(token) {
  const api = new Api(token);
  let me;
  try {
    me = (await api.query(ME)).me;
  } catch (error) {
    sessionStorage.removeItem(STORED);
    const refused = error instanceof ApiError && (error.status === 401 || error.status === 403);
    showSignIn(refused ? "This token is not valid (unknown or revoked)." : error.message);
    return;
  }
  sessionStorage.setItem(STORED, token);
  $("sign-in").hidden = true;
  $("token").value = "";
  $("sign-out").hidden = false;
  const where = me.site ? ` · ${me.site.code} ${me.site.name}` : me.region ? ` · region ${me.region}` : "";
  $("who").textContent = `${me.name} (${me.role.toLowerCase()})${where}`;
  document.body.dataset.role = me.role;

  const session = new Live(token, $("live"));
  live = session;
  // False once signed out (or in again) while the view was loading: that view is gone and must not go live.
  const current = () => live === session;
  const view = clear($("view"));
  await session.mark(api);
  if (!current()) return;
  if (me.role === "SITE") {
    const site = await import("./site.js");
    if (!current()) return;
    await site.mount(view, { api, me, live: session, site: me.site.code });
  } else {
    const region = me.region || (await chooseRegion(api, view));
    const coordinator = await import("./coordinator.js");
    if (!current()) return;
    await coordinator.mount(view, { api, me, live: session, region });
  }
  if (!current()) return;
  session.start();
  $("main").focus({ preventScroll: true });
}

/** An ADMIN coordinates any region: the first one, or the one chosen (kept in the address as ?region=). */
async function chooseRegion(api, view) {
  const edges = (await api.query(REGIONS)).sites.edges;
  const regions = [...new Set(edges.map((e) => e.node.region))].sort();
  const asked = new URLSearchParams(location.search).get("region");
  const region = regions.includes(asked) ? asked : regions[0];
  const select = h(
    "select",
    { id: "region", onchange: (e) => (location.search = `?region=${encodeURIComponent(e.target.value)}`) },
    regions.map((r) => h("option", { value: r, selected: r === region }, r)),
  );
  view.append(h("p", { class: "region-choice" }, h("label", { for: "region" }, "Region "), select));
  return region;
}

function signOut() {
  sessionStorage.removeItem(STORED);
  if (live) live.stop();
  live = null;
  delete document.body.dataset.role;
  showSignIn();
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (token) enter(token);
});
$("sign-out").addEventListener("click", signOut);

const stored = sessionStorage.getItem(STORED);
if (stored) enter(stored);
else showSignIn();
