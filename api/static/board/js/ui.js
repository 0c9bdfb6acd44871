// Small DOM helpers shared by the views: building elements, formatting, announcing.

/** h("button", {type: "button", onclick: f, class: "x"}, "text", child...) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

/** A titled section of the page; its body is returned as `.body`. */
export function section(id, title, ...actions) {
  const heading = h("h2", { id: `${id}-title` }, title);
  const body = h("div", { class: "section-body" });
  const element = h(
    "section",
    { id, class: "card", "aria-labelledby": `${id}-title` },
    h("div", { class: "section-head" }, heading, h("div", { class: "actions" }, ...actions)),
    body,
  );
  element.body = body;
  return element;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(value) {
  return value ? dateTime.format(new Date(value)) : "—";
}

export function money(value) {
  if (value === null || value === undefined) return "—";
  return Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function percent(fraction) {
  return `${(100 * Number(fraction)).toFixed(1)} %`;
}

/** Say something to everyone: shown in the toast and read by screen readers (a status region). */
export function announce(message, kind = "info") {
  const toast = document.getElementById("toast");
  toast.dataset.kind = kind;
  toast.textContent = message;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => {
    toast.textContent = "";
  }, 8000);
}

/** The messages of a payload's `errors { field code message }`, as one line. */
export function errorText(errors) {
  return errors.map((e) => e.message).join(" ");
}

/** Call `fn` at most once per `ms` (trailing): many live events become one reload. */
export function debounce(fn, ms = 250) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
