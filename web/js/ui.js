// Small DOM helpers: elements built with text nodes only (never HTML strings), labelled fields,
// forms that report errors, polling.
let fieldCount = 0;

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function when(condition, make) {
  return condition ? make() : null;
}

export function field(label, type, attrs = {}, options = []) {
  const id = `field-${++fieldCount}`;
  let input;
  if (type === "select") {
    const { value, ...rest } = attrs;
    input = h("select", { id, ...rest }, ...options.map((o) => h("option", { value: o, selected: o === value }, o)));
  }
  else if (type === "textarea") input = h("textarea", { id, rows: 3, ...attrs });
  else input = h("input", { id, type, ...attrs });
  return h("div", {}, h("label", { for: id }, label), input);
}

export function form(submitLabel, fields, onSubmit) {
  const problem = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit" }, submitLabel);
  const element = h("form", { novalidate: false }, ...fields, button, problem);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    button.disabled = true;
    const values = {};
    for (const [name, value] of new FormData(element).entries()) if (typeof value === "string") values[name] = value;
    try {
      await onSubmit(values, element);
    } catch (error) {
      problem.textContent = error.message;
      say(error.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

export function table(headings, rows) {
  if (!rows.length) return h("p", { class: "muted" }, "Nothing yet.");
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((c) => h("td", {}, c)))))));
}

export function say(message, isError = false) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

// Ask until `done(value)`; `each(value)` shows progress. Gives up after two minutes.
export async function poll(ask, done, each = () => {}, seconds = 120) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await ask();
    each(value);
    if (done(value)) return value;
    if (Date.now() > until) throw new Error("This is taking longer than expected; try again later.");
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}
