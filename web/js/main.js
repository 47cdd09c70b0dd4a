// The reference web app: sign-in, studio, credits and the privacy center, on the public API only.
import { api, ApiError, apiUrl, loadConfig, postForm, session } from "./api.js";
import { h, field, form, poll, say, table, when } from "./ui.js";

const main = document.getElementById("main");
const state = { config: {}, policy: null, openapi: null, me: null };

// -- routing ---------------------------------------------------------------------------------------
const views = { "/signin": signIn, "/studio": studio, "/credits": credits, "/privacy": privacy };

let navigation = 0;

async function route() {
  const current = ++navigation; // a slower earlier view must not replace a newer one
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/studio";
  const view = views[path] && (session.token() || path === "/signin") ? views[path] : signIn;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#${path}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  document.getElementById("sign-out").hidden = !session.token();
  main.replaceChildren(h("p", {}, "Loading…"));
  try {
    const parts = await view();
    if (current !== navigation) return;
    main.replaceChildren(...parts);
  } catch (error) {
    if (current !== navigation) return;
    if (error instanceof ApiError && error.status === 401) {
      session.clear();
      location.hash = "#/signin";
      return;
    }
    main.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
  }
  main.focus();
}

function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

// -- sign-in: every method the profile enables -------------------------------------------------------
async function signIn() {
  const methods = state.policy.sign_in;
  const parts = [h("h1", {}, `Sign in to ${state.policy.service.name}`)];
  const signedIn = (answer) => {
    session.save(answer.token);
    say("Signed in.");
    go("/studio");
  };
  const birthDate = () => field("Date of birth", "date", { name: "birth_date", required: true });
  const codeForm = h("div", {});
  const askCode = (email) =>
    codeForm.replaceChildren(
      h("h2", {}, "Enter the code"),
      h("p", {}, `We sent a code to ${email}.`),
      form("Sign in", [field("Code", "text", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true })], async (values) => {
        signedIn(await api("POST", "/auth/email/verify", { email, code: values.code, birth_date: values.birth_date || undefined, session: "bearer" }));
      }),
    );
  if (methods.includes("email_code")) {
    parts.push(
      h("section", { "aria-labelledby": "email-code" }, h("h2", { id: "email-code" }, "E-mail me a code"),
        form("Send code", [field("E-mail", "email", { name: "email", autocomplete: "email", required: true }), birthDate()], async (values) => {
          await api("POST", "/auth/email/code", { email: values.email });
          state.birthDate = values.birth_date;
          askCode(values.email);
          codeForm.querySelector("form").append(hidden("birth_date", values.birth_date));
          say("Code sent: check your e-mail.");
        }),
        codeForm),
    );
  }
  if (methods.includes("password")) {
    parts.push(
      h("section", { "aria-labelledby": "password-in" }, h("h2", { id: "password-in" }, "Sign in with a password"),
        form("Sign in", [field("E-mail", "email", { name: "email", autocomplete: "email", required: true }), field("Password", "password", { name: "password", autocomplete: "current-password", required: true })], async (values) => {
          signedIn(await api("POST", "/auth/password/sign-in", { ...values, session: "bearer" }));
        })),
      h("section", { "aria-labelledby": "password-up" }, h("h2", { id: "password-up" }, "Create an account"),
        form("Create account", [field("E-mail", "email", { name: "email", autocomplete: "email", required: true }), field("Password", "password", { name: "password", autocomplete: "new-password", required: true }), birthDate()], async (values) => {
          await api("POST", "/auth/password/sign-up", values);
          say("Check your e-mail for the code that verifies your address.");
          askCode(values.email);
          codeForm.querySelector("form").append(hidden("birth_date", values.birth_date));
        })),
    );
  }
  if (methods.includes("google")) parts.push(googleSection());
  const elsewhere = methods.filter((m) => m === "telegram" || m === "api_key");
  if (elsewhere.length) {
    parts.push(h("p", { class: "muted" }, `Also accepted by the API: ${elsewhere.join(", ").replace("api_key", "API keys (made in the account)").replace("telegram", "Telegram (linked from an account)")}.`));
  }
  return parts;
}

function hidden(name, value) {
  return h("input", { type: "hidden", name, value: value || "" });
}

function googleSection() {
  const google = state.config.google;
  const section = h("section", { "aria-labelledby": "google" }, h("h2", { id: "google" }, "Google"));
  if (!google) return section.appendChild(h("p", { class: "muted" }, "Google sign-in is not configured here.")) && section;
  section.append(
    form("Sign in with Google", [birthFieldOptional()], async (values) => {
      const { nonce } = await api("POST", "/auth/google/nonce");
      sessionStorage.setItem("pixelkeep.google", JSON.stringify({ nonce, birth_date: values.birth_date || null }));
      const query = new URLSearchParams({ client_id: google.client_id, redirect_uri: new URL("./", location.href).href, response_type: "id_token", scope: "openid email profile", nonce });
      location.assign(`${google.auth_url}?${query}`);
    }),
  );
  return section;
}

function birthFieldOptional() {
  return field("Date of birth (new accounts)", "date", { name: "birth_date" });
}

async function finishGoogle() {
  const answer = new URLSearchParams(location.hash.slice(1));
  const pending = JSON.parse(sessionStorage.getItem("pixelkeep.google") || "null");
  history.replaceState(null, "", location.pathname);
  if (!pending || !answer.get("id_token")) return;
  sessionStorage.removeItem("pixelkeep.google");
  const body = { id_token: answer.get("id_token"), nonce: pending.nonce, session: "bearer" };
  if (pending.birth_date) body.birth_date = pending.birth_date;
  const signedIn = await api("POST", "/auth/google", body);
  session.save(signedIn.token);
  location.hash = "#/studio";
}

// -- studio: upload, generate, live status, gallery, delete, share -------------------------------------
function stores(category) {
  return state.policy.categories.some((c) => c.id === category);
}

// The generation options, as the API's contract states them (enum and default).
function option(name) {
  return state.openapi.components.schemas.GenerationRequest.properties[name];
}

async function studio() {
  const parts = [h("h1", {}, "Studio")];
  const uploadsList = h("ul", { class: "grid", "aria-label": "Your uploads" });
  if (stores("uploads")) {
    parts.push(h("section", { "aria-labelledby": "upload" }, h("h2", { id: "upload" }, "Upload an image"),
      form("Upload", [field("Image (PNG, JPEG or WebP)", "file", { name: "file", accept: "image/png,image/jpeg,image/webp", required: true })], async (values, element) => {
        const file = element.querySelector("input[type=file]").files[0];
        const started = await api("POST", "/uploads", { content_type: file.type });
        await postForm(started.upload.url, started.upload.fields, file);
        say("Uploaded; checking the image…");
        const ready = await poll(() => api("GET", `/uploads/${started.id}`), (u) => u.status !== "pending");
        say(`Upload ${ready.status}.`);
        await showUploads(uploadsList);
      }),
      uploadsList));
    await showUploads(uploadsList);
  }
  const job = h("div", { "aria-live": "polite" });
  const gallery = h("ul", { class: "grid", "aria-label": "Gallery" });
  const select = (label, name) => field(label, "select", { name, value: option(name).default }, option(name).enum || [option(name).default]);
  const generateFields = [
    field("Prompt", "textarea", { name: "prompt", required: true, maxlength: 2000 }),
    field("Model", "text", { name: "model", value: "flux-schnell", required: true }),
    select("Aspect ratio", "aspect_ratio"),
    select("Style", "style"),
    select("Safety level", "safety_level"),
  ];
  if (stores("uploads")) generateFields.push(field("Start from an upload (id, optional)", "text", { name: "source_upload_id" }));
  parts.push(h("section", { "aria-labelledby": "generate" }, h("h2", { id: "generate" }, "Generate"),
    form("Generate", generateFields, async (values) => {
      if (!values.source_upload_id) delete values.source_upload_id;
      const submitted = await api("POST", "/generations", values);
      showJob(job, submitted);
      const done = await poll(() => api("GET", `/generations/${submitted.id}`), (j) => !["queued", "running"].includes(j.status), (j) => showJob(job, j));
      showJob(job, done);
      say(`Generation ${done.status}.`);
      await showGallery(gallery);
    }), job));
  parts.push(h("section", { "aria-labelledby": "gallery" }, h("h2", { id: "gallery" }, "Gallery"), gallery));
  await showGallery(gallery);
  return parts;
}

function showJob(element, job) {
  const rows = [h("p", { "data-job-status": job.status }, `Job ${job.id}: ${job.status}`)];
  if (job.result_url) rows.push(h("div", { "data-delivered": job.id }, h("img", { src: job.result_url, alt: `Result of job ${job.id}` }), h("p", { class: "muted" }, `Delivered by link until ${job.result_url_expires_at}; not kept.`)));
  if (job.failure) rows.push(h("p", { class: "error" }, String(job.failure.message || job.failure)));
  element.replaceChildren(...rows);
}

async function showUploads(list) {
  const { items } = await api("GET", "/uploads");
  list.replaceChildren(...items.map((u) => h("li", {}, h("p", {}, `${u.id}`), h("p", { class: "muted" }, `${u.status}, kept until ${u.expires_at || "deleted"}`))));
}

async function showGallery(list) {
  const { items } = await api("GET", "/gallery");
  if (!items.length) return list.replaceChildren(h("li", { class: "muted" }, "No images yet."));
  list.replaceChildren(...items.map((image) => {
    const shares = h("div", {});
    return h("li", { "data-image": image.id },
      h("img", { src: image.url, alt: `Generated image ${image.id}`, width: image.width || "", height: image.height || "" }),
      h("button", { type: "button", class: "secondary", onclick: () => share(image.id, shares) }, "Create share link"),
      h("button", { type: "button", class: "danger", onclick: async () => {
        await api("DELETE", `/gallery/${image.id}`);
        say("Image deleted.");
        await showGallery(list);
      } }, "Delete"),
      shares);
  }));
}

async function share(imageId, element) {
  await api("POST", `/gallery/${imageId}/shares`, {});
  const render = async () => {
    const { items } = await api("GET", `/gallery/${imageId}/shares`);
    element.replaceChildren(...items.map((link) => h("p", { "data-share": link.id },
      h("a", { href: link.url }, "Share link"), " ",
      h("button", { type: "button", class: "secondary", onclick: async () => {
        await navigator.clipboard.writeText(link.url).catch(() => {});
        say("Link copied.");
      } }, "Copy"), " ",
      h("button", { type: "button", class: "secondary", onclick: async () => {
        await api("DELETE", `/shares/${link.id}`);
        say("Link revoked.");
        await render();
      } }, "Revoke"))));
  };
  await render();
  say("Share link created.");
}

// -- credits: catalogue, pay page, ledger -----------------------------------------------------------
// The newest movement's sequence when a purchase began: back from the pay page, the page waits for
// the movement after it (the provider's signed delivery grants the credits, and may land just after
// the person does).
const PURCHASE_KEY = "pixelkeep.purchase";
const newestMovement = (ledger) => (ledger.entries.length ? ledger.entries[0].sequence : 0);

async function credits() {
  const [{ products }, first] = await Promise.all([api("GET", "/billing/catalogue"), api("GET", "/me/ledger")]);
  let ledger = first;
  const began = sessionStorage.getItem(PURCHASE_KEY);
  sessionStorage.removeItem(PURCHASE_KEY);
  if (began !== null && location.hash.endsWith("?paid") && newestMovement(ledger) <= Number(began)) {
    say("Payment received; your credits are on their way.");
    const arrived = (page) => newestMovement(page) > Number(began);
    ledger = await poll(() => api("GET", "/me/ledger"), arrived, () => {}, 30).catch(() => api("GET", "/me/ledger"));
    say(arrived(ledger) ? "Credits added." : "Your payment is still being confirmed; the credits appear when it is.");
  }
  return [
    h("h1", {}, "Credits"),
    h("p", { "data-balance": ledger.balance }, `Balance: ${ledger.balance} credits`),
    h("section", { "aria-labelledby": "buy" }, h("h2", { id: "buy" }, "Buy"),
      h("ul", {}, ...products.map((p) => h("li", {}, `${p.title}: ${p.credits} credits for ${(p.amount / 100).toFixed(2)} ${p.currency.toUpperCase()} `,
        h("button", { type: "button", onclick: async () => {
          const started = await api("POST", "/billing/checkout", { product: p.id });
          sessionStorage.setItem(PURCHASE_KEY, String(newestMovement(ledger)));
          location.assign(started.url);
        } }, `Buy ${p.title}`))))),
    h("section", { "aria-labelledby": "ledger" }, h("h2", { id: "ledger" }, "History"),
      table(["When", "What", "Credits"], ledger.entries.map((e) => [e.at || "", e.kind || "", String(e.amount ?? "")]))),
  ];
}

// -- privacy center ------------------------------------------------------------------------------------
async function privacy() {
  const policy = state.policy;
  const [consents, requests, me, notices] = await Promise.all([api("GET", "/me/consents"), api("GET", "/me/requests"), api("GET", "/me"), api("GET", "/me/notices")]);
  const exportBox = h("div", { "aria-live": "polite" });
  const erasureBox = h("div", { "aria-live": "polite" });
  // What the service asks consent for: the fixed purposes and every category processed on consent.
  const purposes = [...new Set(["marketing", "service_improvement", ...policy.categories.filter((c) => c.legal_basis === "consent").map((c) => c.id)])];
  return [
    h("h1", {}, "Privacy center"),
    ...notices.notices.map(noticeBox),
    h("p", {}, `Policy version ${policy.policy.version}. `, h("a", { href: apiUrl("/policy") }, "Read the policy"), `. Requests are answered within ${policy.rights.response_hours} hours.`),
    h("section", { "aria-labelledby": "export" }, h("h2", { id: "export" }, "Your data"),
      h("button", { type: "button", onclick: async () => {
        const started = await api("POST", "/me/exports");
        const done = await poll(() => api("GET", `/me/exports/${started.id}`), (x) => ["ready", "failed", "emailed"].includes(x.status) || x.ready_at, (x) => showExport(exportBox, x));
        showExport(exportBox, done);
      } }, "Export my data"), exportBox),
    h("section", { "aria-labelledby": "consents" }, h("h2", { id: "consents" }, "Consents"),
      ...purposes.map((purpose) => checkbox(`Allow ${purpose.replace("_", " ")}`, consents.consents[purpose] === true, async (granted) => {
        await api("POST", "/me/consents", { purpose, granted });
        say(`Consent to ${purpose.replace("_", " ")} ${granted ? "given" : "withdrawn"}.`);
      }))),
    h("section", { "aria-labelledby": "processing" }, h("h2", { id: "processing" }, "Restriction and objection"),
      checkbox("Restrict processing of my data", me.processing.restricted, async (restricted) => {
        await api("PUT", "/me/processing", { restricted });
        say(restricted ? "Processing restricted." : "Restriction lifted.");
      }),
      ...["generation", "service_improvement", "marketing"].map((purpose) => checkbox(`Object to ${purpose.replace("_", " ")}`, me.processing.objections.includes(purpose), async (object) => {
        const current = (await api("GET", "/me")).processing.objections.filter((o) => o !== purpose);
        await api("PUT", "/me/processing", { objections: object ? [...current, purpose] : current });
        say(`Objection to ${purpose.replace("_", " ")} ${object ? "recorded" : "withdrawn"}.`);
      }))),
    h("section", { "aria-labelledby": "requests" }, h("h2", { id: "requests" }, "Requests"),
      table(["Kind", "Status", "Opened", "Due"], requests.requests.map((r) => [r.kind, r.status, r.created_at.slice(0, 10), r.due_at.slice(0, 10)])),
      form("Open request", [field("Kind", "select", { name: "kind" }, ["rectification", "objection", "restriction"])], async (values) => {
        await api("POST", "/me/requests", values);
        say("Request opened.");
        go("/privacy");
      })),
    h("section", { "aria-labelledby": "delete" }, h("h2", { id: "delete" }, "Delete my account"),
      h("p", {}, `Your account is disabled at once and erased after the grace period; the e-mail we send has a link to cancel.`),
      h("button", { type: "button", class: "danger", onclick: () => erasureBox.replaceChildren(
        h("p", { role: "alert" }, "This erases your account, images and credits."),
        h("button", { type: "button", class: "danger", onclick: async () => {
          const scheduled = await api("DELETE", "/me");
          session.clear();
          erasureBox.replaceChildren(h("p", { "data-erasure": scheduled.status }, `Erasure ${scheduled.status}; it starts after ${scheduled.erase_after}. Use the link in the e-mail to cancel.`));
          document.getElementById("sign-out").hidden = true;
          say("Account scheduled for erasure.");
        } }, "Yes, delete my account")) }, "Delete my account"), erasureBox),
  ];
}

// OPS-2: a significant policy change, until acknowledged; a new consent purpose needs an answer.
function noticeBox(notice) {
  const decisions = Object.fromEntries(notice.decisions.map((purpose) => [purpose, false]));
  return h("section", { role: "region", "aria-labelledby": `notice-${notice.version}`, "data-notice": notice.version },
    h("h2", { id: `notice-${notice.version}` }, `Our privacy policy changes (version ${notice.version}, effective ${notice.effective})`),
    h("ul", {}, ...notice.changes.map((change) => h("li", {}, change))),
    h("p", {}, h("a", { href: notice.policy_url }, "Read the policy and its history")),
    ...notice.decisions.map((purpose) => checkbox(`Allow ${purpose.replace("_", " ")}`, false, async (granted) => { decisions[purpose] = granted; })),
    h("button", { type: "button", onclick: async () => {
      await api("POST", `/me/notices/${encodeURIComponent(notice.version)}/ack`, { decisions });
      say("Thank you: the change is acknowledged.");
      go("/privacy");
    } }, notice.decisions.length ? "Save my answer" : "I have read it"));
}

function showExport(element, x) {
  const done = x.progress.done, total = x.progress.total || 1;
  element.replaceChildren(
    h("label", { for: "export-progress" }, `Export ${x.status}`),
    h("progress", { id: "export-progress", max: total, value: Math.min(done, total) }),
    when(x.status === "ready" || x.ready_at, () => h("p", { "data-export": "ready" }, "Ready: the download link is in your e-mail.")),
  );
}

function checkbox(label, checked, onChange) {
  const input = h("input", { type: "checkbox" });
  input.checked = checked;
  input.addEventListener("change", () => onChange(input.checked).catch((error) => say(error.message, true)));
  return h("label", { class: "check" }, input, label);
}

// -- start -------------------------------------------------------------------------------------------
async function start() {
  state.config = await loadConfig();
  [state.policy, state.openapi] = await Promise.all([api("GET", "/policy.json"), api("GET", "/openapi.json")]);
  document.getElementById("service-name").textContent = state.policy.service.name;
  document.getElementById("policy-link").href = apiUrl("/policy");
  document.title = state.policy.service.name;
  document.getElementById("sign-out").addEventListener("click", async () => {
    await api("POST", "/auth/logout").catch(() => {});
    session.clear();
    go("/signin");
  });
  if (location.hash.startsWith("#id_token=")) await finishGoogle();
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((error) => main.replaceChildren(h("p", { class: "error", role: "alert" }, error.message)));
