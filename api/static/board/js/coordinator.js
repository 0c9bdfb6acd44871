// The coordinator's view of a region. (Skeleton: filled in by issue 15's coordinator work.)
import { h, section } from "./ui.js";

export async function mount(root, { region }) {
  const overview = section("overview", `Region ${region}`);
  overview.body.append(h("p", {}, "The coordinator's board."));
  root.append(overview);
}
