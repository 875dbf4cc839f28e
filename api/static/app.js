// Cutout's web page: build the form from /page/config.json, send each dropped image as a job,
// poll it, then show a before/after slider and a download link. No framework, no build step.
"use strict";

const KEY_STORAGE = "cutout.apiKey";
const PARALLEL_UPLOADS = 2;
const POLL_MS = 600;
const SLOW_POLL_MS = 2000;
const PREVIEW_PX = 1600;
const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif|avif)$/i;

// Error codes (shared/errors.py and the job's error) in plain words.
const MESSAGES = {
  unsupported_media_type: "This file is not an image Cutout can read. Try a JPEG, PNG, WebP or HEIC file.",
  invalid_image: "The image is damaged or incomplete, so it could not be read.",
  image_too_large: "The image has more pixels than this server accepts. Try a smaller image.",
  file_too_large: "The file is larger than this server accepts.",
  invalid_option: "One of the options is not valid.",
  unauthorized: "This server needs an API key. Enter it under “API key” and try again.",
  invalid_api_key: "The API key was not accepted: it is unknown or was revoked.",
  model_unavailable: "The background-removal model is not available on the server right now.",
  inference_failed: "The model failed on this image.",
  storage_unavailable: "The server's storage is unavailable. Try again in a moment.",
  queue_unavailable: "The server cannot take jobs right now. Try again in a moment.",
  store_unavailable: "The server cannot take jobs right now. Try again in a moment.",
  rate_limited: "Too many requests at once. Wait a moment and try again.",
  overloaded: "The server is busy. Wait a moment and try again.",
  worker_lost: "Processing stopped several times on this image; it may be too demanding.",
  timeout: "Processing took too long and was stopped.",
  canceled: "The job was canceled.",
  not_found: "The job is gone: it expired or was deleted.",
  network: "The server could not be reached. Check the connection and try again.",
  internal_error: "Something went wrong on the server.",
};
const REVIEW_REASONS = {
  empty_mask: "almost nothing was kept",
  mask_covers_almost_everything: "almost everything was kept",
  low_confidence: "the model was unsure",
  large_uncertain_area: "large areas are half transparent",
  many_components: "the subject is in many pieces",
  subject_cut_off: "the subject touches the edge of the picture",
};
const EXTENSIONS = { "image/png": "png", "image/webp": "webp", "image/jpeg": "jpg" };

const state = { fields: [], queue: [], active: 0, jobs: [] };
const $ = (selector, root = document) => root.querySelector(selector);

function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function describeError(error) {
  const sentence = MESSAGES[error.code] || "The server refused this image.";
  const detail = error.message && !MESSAGES[error.code] ? error.message : "";
  const specific = error.code === "invalid_option" ? error.message : detail;
  return specific ? `${sentence} (${specific})` : sentence;
}

// ---- the form --------------------------------------------------------------------------

function control(field) {
  const id = `opt-${field.name}`;
  let input;
  if (field.widget === "select") {
    input = document.createElement("select");
    const choices = field.optional ? ["", ...field.choices] : field.choices;
    for (const choice of choices) {
      const option = new Option(choice === "" ? "default" : choice, choice);
      option.selected = choice === (field.default ?? "");
      input.add(option);
    }
  } else {
    input = document.createElement("input");
    input.type = field.widget;
    if (field.widget === "color") input.value = "#ffffff";
    if (field.widget === "number") {
      if (field.min !== null) input.min = field.min;
      if (field.max !== null) input.max = field.max;
      if (field.step !== null) input.step = field.step;
      if (field.default !== null) input.placeholder = field.default;
    }
    if (field.widget === "checkbox") input.checked = field.default === true;
  }
  input.id = id;
  input.name = field.name;
  const wrapper = document.createElement("div");
  wrapper.className = `field field-${field.widget}`;
  wrapper.dataset.name = field.name;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = field.label;
  if (field.widget === "checkbox") wrapper.append(input, label);
  else wrapper.append(label, input);
  if (field.hint && field.widget !== "checkbox") {
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.id = `${id}-hint`;
    hint.textContent = field.hint;
    input.setAttribute("aria-describedby", hint.id);
    wrapper.append(hint);
  }
  return wrapper;
}

function buildForm(fields) {
  const holder = $("#fields");
  holder.textContent = "";
  const groups = new Map();
  for (const field of fields) {
    if (!groups.has(field.group)) {
      // The main group stays open; the others fold away (short on a phone).
      const main = field.group === "Output";
      const set = document.createElement(main ? "fieldset" : "details");
      const title = document.createElement(main ? "legend" : "summary");
      title.textContent = field.group;
      set.append(title);
      set.className = main ? "group" : "group folded";
      groups.set(field.group, set);
      holder.append(set);
    }
    groups.get(field.group).append(control(field));
  }
  $("#options").addEventListener("change", applyVisibility);
  applyVisibility();
}

function currentValue(name) {
  const input = $(`#opt-${name}`);
  if (!input) return "";
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

function applyVisibility() {
  for (const field of state.fields) {
    const wrapper = $(`.field[data-name="${field.name}"]`);
    const shown = Object.entries(field.show_when).every(([name, values]) =>
      values.includes(currentValue(name)),
    );
    wrapper.hidden = !shown;
    $("input, select", wrapper).disabled = !shown;
  }
  $("#background-field").hidden = currentValue("mode") !== "image";
}

function formValues() {
  const values = new FormData();
  for (const field of state.fields) {
    const input = $(`#opt-${field.name}`);
    if (!input || input.disabled) continue;
    if (input.type === "checkbox") {
      if (input.checked) values.append(field.name, "true");
    } else if (input.value !== "") {
      values.append(field.name, input.value);
    }
  }
  const background = $("#background").files[0];
  if (currentValue("mode") === "image" && background) values.append("background", background);
  return values;
}

// ---- jobs --------------------------------------------------------------------------------

function addJob(file) {
  const node = $("#job-template").content.firstElementChild.cloneNode(true);
  const job = { file, node, id: null, status: "waiting", result: null, name: file.name };
  $(".name", node).textContent = file.webkitRelativePath || file.name;
  const slider = $(".slider", node);
  slider.setAttribute("aria-label", `Before and after: ${file.name}`);
  slider.addEventListener("input", () => setSplit(job, slider.value));
  $("#jobs").append(node);
  state.jobs.push(job);
  state.queue.push(job);
  setSplit(job, slider.value);
  summarize();
  pump();
}

function setSplit(job, percent) {
  // CSSOM, not a style attribute: allowed under a strict Content-Security-Policy.
  job.node.style.setProperty("--split", `${percent}%`);
  $(".slider", job.node).setAttribute("aria-valuetext", `${percent}% before`);
}

function pump() {
  while (state.active < PARALLEL_UPLOADS && state.queue.length) {
    const job = state.queue.shift();
    state.active += 1;
    upload(job).finally(() => {
      state.active -= 1;
      pump();
    });
  }
}

function show(job, status, percent) {
  job.status = status;
  job.node.dataset.status = status;
  $(".status", job.node).textContent = status;
  const bar = $("progress", job.node);
  if (percent === null) bar.removeAttribute("value");
  else bar.value = percent;
  bar.setAttribute("aria-label", `${job.name}: ${status}`);
  summarize();
}

function fail(job, error) {
  show(job, "failed", 100);
  const message = $(".message", job.node);
  message.textContent = describeError(error);
  message.hidden = false;
  if (error.code === "unauthorized" || error.code === "invalid_api_key") {
    $("#key-box").open = true;
  }
}

function upload(job) {
  return new Promise((resolve) => {
    const body = formValues();
    body.append("image", job.file, job.file.name);
    const request = new XMLHttpRequest();
    request.open("POST", "/v1/jobs");
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) show(job, "uploading", (30 * event.loaded) / event.total);
    });
    request.addEventListener("load", () => {
      const answer = request.response || {};
      if (request.status === 202 && answer.id) {
        job.id = answer.id;
        job.node.dataset.jobId = answer.id;
        track(job, answer);
      } else {
        fail(job, answer.error || { code: "internal_error", message: `HTTP ${request.status}` });
      }
      resolve();
    });
    request.addEventListener("error", () => {
      fail(job, { code: "network" });
      resolve();
    });
    show(job, "uploading", 0);
    request.send(body);
  });
}

const PROGRESS = { queued: 40, processing: null };

async function track(job, record) {
  const started = Date.now();
  while (record.status === "queued" || record.status === "processing") {
    show(job, record.status, PROGRESS[record.status]);
    const slow = Date.now() - started > 30000;
    await new Promise((done) => setTimeout(done, slow ? SLOW_POLL_MS : POLL_MS));
    try {
      const response = await fetch(`/v1/jobs/${job.id}`, { headers: authHeaders() });
      const answer = await response.json();
      if (!response.ok) return fail(job, answer.error || { code: "internal_error" });
      record = answer;
    } catch {
      continue; // a dropped poll: try again on the next tick
    }
  }
  if (record.status === "succeeded") return finish(job, record);
  fail(job, record.error || { code: record.status });
}

async function finish(job, record) {
  try {
    const response = await fetch(record.links.result, { headers: authHeaders() });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    job.result = await response.blob();
  } catch {
    return fail(job, { code: "network" });
  }
  const resultUrl = URL.createObjectURL(job.result);
  const output = record.outputs.result;
  $(".stage", job.node).style.aspectRatio = `${output.width} / ${output.height}`;
  await paint($(".after", job.node), job.result, `${job.name} without its background`);
  await paint($(".before", job.node), job.file, `${job.name} as uploaded`);
  $(".compare", job.node).hidden = false;
  const link = $(".download", job.node);
  link.href = resultUrl;
  link.download = `${job.name.replace(/\.[^.]+$/, "")}-cutout.${EXTENSIONS[output.media_type] || "png"}`;
  link.textContent = `Download ${EXTENSIONS[output.media_type] || ""}`.trim();
  link.setAttribute("aria-label", `Download the result of ${job.name}`);
  link.hidden = false;
  const seconds = record.timings_ms ? ` in ${(sum(record.timings_ms) / 1000).toFixed(1)} s` : "";
  $(".facts", job.node).textContent = `${output.width}×${output.height}${seconds}`;
  show(job, "done", 100);
  markReview(job, record);
}

// Decoded with createImageBitmap and drawn on a canvas rather than shown through blob: URLs,
// which a strict Content-Security-Policy (img-src 'self') would block.
async function paint(canvas, blob, label) {
  canvas.setAttribute("aria-label", label);
  try {
    const probe = await createImageBitmap(blob);
    const scale = Math.min(1, PREVIEW_PX / Math.max(probe.width, probe.height));
    const width = Math.max(1, Math.round(probe.width * scale));
    const height = Math.max(1, Math.round(probe.height * scale));
    probe.close();
    const bitmap = await createImageBitmap(blob, {
      resizeWidth: width,
      resizeHeight: height,
      resizeQuality: "high",
    });
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
  } catch {
    canvas.dataset.unreadable = "true"; // e.g. HEIC: the browser cannot show it, the server can
  }
}

function sum(values) {
  return Object.values(values).reduce((total, value) => total + value, 0);
}

function markReview(job, record) {
  const proxy = record.metrics && record.metrics.proxy;
  if (!proxy || !proxy.needs_review) return;
  const reasons = (proxy.review_reasons || []).map((code) => REVIEW_REASONS[code] || code);
  const note = $(".review", job.node);
  note.textContent = `Check this one: ${reasons.join(", ") || "the result looks unusual"}.`;
  note.hidden = false;
  job.node.classList.add("needs-review");
  $(".status", job.node).textContent = "check";
  summarize();
}

function summarize() {
  const count = (status) => state.jobs.filter((job) => job.status === status).length;
  const done = count("done");
  const failed = count("failed");
  const review = state.jobs.filter((job) => job.node.classList.contains("needs-review")).length;
  const parts = [`${done} of ${state.jobs.length} done`];
  if (failed) parts.push(`${failed} failed`);
  if (review) parts.push(`${review} to check`);
  $("#summary").textContent = state.jobs.length ? parts.join(", ") : "No images yet.";
  $("#download-all").disabled = done === 0;
}

function downloadAll() {
  for (const job of state.jobs) {
    if (job.status === "done") $(".download", job.node).click();
  }
}

// ---- picking files -------------------------------------------------------------------------

async function entryFiles(entry) {
  if (entry.isFile) {
    const file = await new Promise((done, failed) => entry.file(done, failed));
    return IMAGE_EXTENSIONS.test(file.name) ? [file] : [];
  }
  const reader = entry.createReader();
  const found = [];
  for (;;) {
    const batch = await new Promise((done, failed) => reader.readEntries(done, failed));
    if (!batch.length) return found;
    for (const child of batch) found.push(...(await entryFiles(child)));
  }
}

async function dropped(event) {
  event.preventDefault();
  $("#drop").classList.remove("over");
  const items = [...event.dataTransfer.items].filter((item) => item.kind === "file");
  const entries = items.map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
  if (entries.some((entry) => entry && entry.isDirectory)) {
    for (const entry of entries) if (entry) (await entryFiles(entry)).forEach(addJob);
  } else {
    [...event.dataTransfer.files].forEach(addJob);
  }
}

function picked(event, onlyImages) {
  const files = [...event.target.files];
  files.filter((file) => !onlyImages || IMAGE_EXTENSIONS.test(file.name)).forEach(addJob);
  event.target.value = "";
}

function setUpKey(authMode) {
  const input = $("#api-key");
  input.value = apiKey();
  input.addEventListener("input", () => localStorage.setItem(KEY_STORAGE, input.value.trim()));
  if (authMode === "required") {
    $("#key-box").open = !apiKey();
    $("#key-hint").textContent = "This server requires a key. It is kept in this browser only.";
  }
}

async function start() {
  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", dropped);
  $("#drop-input").addEventListener("change", (event) => picked(event, false));
  $("#folder-input").addEventListener("change", (event) => picked(event, true));
  $("#download-all").addEventListener("click", downloadAll);
  try {
    const config = await (await fetch("/page/config.json")).json();
    state.fields = config.fields;
    buildForm(config.fields);
    setUpKey(config.auth);
  } catch {
    $("#fields").textContent = MESSAGES.network;
  }
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", start);
