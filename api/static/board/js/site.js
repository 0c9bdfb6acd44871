// A site's view: what to ship, what is coming, its backorders, stock and alerts. (Skeleton: issue 15's site work.)
import { h, section } from "./ui.js";

export async function mount(root, { site }) {
  const overview = section("overview", `Site ${site}`);
  overview.body.append(h("p", {}, "The site's board."));
  root.append(overview);
}
