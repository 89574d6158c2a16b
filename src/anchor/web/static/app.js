// anchor verifier page: paste, drop or open a receipt, a baked badge (PNG/SVG) or a #r= link, POST it to /verify,
// show the result.
// Plain JavaScript, no build step, no external requests. All text goes in with textContent, never as HTML.
"use strict";

const REVEAL_MS = 110;         // delay between checks turning green or red
const FRAGMENT_KEY = "r";      // #r=<base64url(deflate-raw(receipt))>, as `anchor verify --link` makes

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- links: deflate-raw + base64url

function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function pipe(bytes, transform) {
  const stream = new Blob([bytes]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function linkFor(text) {
  const packed = await pipe(new TextEncoder().encode(text), new CompressionStream("deflate-raw"));
  return `${location.origin}${location.pathname}#${FRAGMENT_KEY}=${toBase64Url(packed)}`;
}

async function receiptFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get(FRAGMENT_KEY);
  if (!token) return null;
  const bytes = await pipe(fromBase64Url(token), new DecompressionStream("deflate-raw"));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

// ---------------------------------------------------------------- rendering helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function link(href, text) {
  if (!href || !/^https:\/\//.test(href)) return el("span", "mono", text);
  const a = el("a", "mono", text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function fact(list, label, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(el("dt", null, label));
  const dd = el("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = String(value);
  list.append(dd);
}

function when(iso) {
  if (!iso) return null;
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return iso;
  return moment.toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC").replace(/\.\d+Z$/, " UTC");
}

function day(iso) {
  return iso ? String(iso).slice(0, 10) : null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MARKS = { passed: "✓", failed: "✗", "not-checked": "–", pending: "…" };

// ---------------------------------------------------------------- the result

function showPending(text) {
  $("result").hidden = false;
  const verdict = $("verdict");
  verdict.dataset.verdict = "pending";
  $("verdict-word").textContent = text;
  $("verdict-summary").textContent = "";
  $("checks").replaceChildren();
  $("credential").replaceChildren();
  $("outcomes").replaceChildren();
  $("evidence").replaceChildren();
  $("credential-note").hidden = true;
}

async function showResult(result) {
  const list = $("checks");
  const items = result.checks.map((check) => {
    const item = el("li");
    item.dataset.check = check.name;
    item.dataset.state = "pending";
    item.append(el("span", "mark", MARKS.pending), el("span", "title", check.title), el("span", "reason", ""));
    list.append(item);
    return item;
  });
  if (result.kind === "stack") {
    renderStack(result);
  } else {
    renderCredential(result.credential, result.evidence);
    renderEvidence(result.evidence);
  }
  for (let i = 0; i < items.length; i++) {
    await sleep(REVEAL_MS);
    const check = result.checks[i];
    items[i].dataset.state = check.state;
    items[i].querySelector(".mark").textContent = MARKS[check.state] || "?";
    items[i].querySelector(".reason").textContent = check.reason;
  }
  const verdict = $("verdict");
  verdict.dataset.verdict = result.verdict;
  verdict.dataset.status = result.status;
  $("verdict-word").textContent = result.status;
  $("verdict-summary").textContent = result.verdict !== "VALID"
    ? result.summary
    : result.kind === "stack"
      ? "Every check passed: the stacked credential and each of its parts are authentic, anchored by their issuers, not revoked, within their validity periods and the same learner's."
      : "Every check passed: the credential is authentic, anchored by its issuer, not revoked and within its validity period.";
  $("credential-note").hidden = result.verdict === "VALID";
  document.title = `${result.status} · anchor verifier`;
}

// The awarding body as the registry records it (name and country of the issuer that anchored the batch),
// never the credential's own claim when the registry answered; the claim is shown only if it differs.
function awardingBody(list, summary, evidence) {
  const claimed = [summary.awardingBody, summary.country ? `(${summary.country})` : null].filter(Boolean).join(" ");
  if (!evidence || !evidence.issuerName) {
    if (claimed) fact(list, "Awarding body (claimed)", claimed);
    return;
  }
  const registered = el("span");
  registered.dataset.source = "registry";
  registered.append(document.createTextNode(`${evidence.issuerName} (${evidence.issuerCountry}) `));
  registered.append(el("span", "tag", "as registered"));
  fact(list, "Awarding body", registered);
  const same = (a, b) => String(a || "").normalize("NFC") === String(b || "").normalize("NFC");
  if (!same(summary.awardingBody, evidence.issuerName) || summary.country !== evidence.issuerCountry) {
    const differs = el("span");
    differs.append(el("span", "tag bad", "does not match"), document.createTextNode(claimed || "(none)"));
    fact(list, "Claimed by the credential", differs);
  }
}

// "withheld" when a presentation withholds the field at dotted path (or a part of it, or what holds it).
function withheldTag(summary, path) {
  const hidden = (summary.withheld || []).some((f) => f === path || f.startsWith(path + ".") || path.startsWith(f + "."));
  return hidden ? el("span", "tag withheld", "withheld") : null;
}

function renderCredential(summary, evidence) {
  const list = $("credential");
  const outcomes = $("outcomes");
  if (!summary) {
    list.append(el("dd", "empty", "No readable credential."));
    return;
  }
  const title = el("span", "big", summary.title || "(untitled)");
  fact(list, "Title", title);
  fact(list, "Learner", summary.learner ?? withheldTag(summary, "credentialSubject.identifier"));
  awardingBody(list, summary, evidence);
  fact(list, "Issuer id", summary.awardingBodyId ? el("span", "mono", summary.awardingBodyId) : null);
  const level = el("span");
  if (summary.workload) level.append(el("span", "tag", summary.workload));
  if (summary.eqfLevel !== null && summary.eqfLevel !== undefined) level.append(el("span", "tag", `EQF level ${summary.eqfLevel}`));
  if (level.childNodes.length) fact(list, "Workload, level", level);
  fact(list, "Grade", summary.grade ?? withheldTag(summary, "credentialSubject.result"));
  fact(list, "Issued", day(summary.validFrom));
  fact(list, "Valid until", summary.validUntil ? day(summary.validUntil) : "no expiry");
  fact(list, "Participation", summary.participation);
  fact(list, "Assessment", summary.assessment);
  fact(list, "Quality assurance", summary.qualityAssurance);
  fact(list, "Language", summary.language);
  if (summary.withheld && summary.withheld.length) {
    // a presentation (anchor present): what the learner chose not to show; the rest is proven by its anchoring
    const hidden = el("span");
    for (const field of summary.withheld) hidden.append(el("span", "tag withheld mono", field));
    fact(list, "Withheld by the learner", hidden);
  }
  if (!summary.learningOutcomes.length) outcomes.append(el("li", "empty", "none given"));
  for (const outcome of summary.learningOutcomes) outcomes.append(el("li", null, outcome));
}

// A stack bundle (anchor stack): the stacked credential, the parts' total workload and levels, each part.
function renderStack(result) {
  const stacked = result.stacked || {};
  renderCredential(stacked.credential, stacked.evidence);
  const list = $("credential");
  const stack = result.stack || {};
  const total = el("span");
  if (stack.workload && stack.workload.text) total.append(el("span", "tag", stack.workload.text));
  const levels = [...new Set((stack.partEqfLevels || []).filter((level) => level !== null))];
  if (levels.length) total.append(el("span", "tag", `EQF level ${levels.join(", ")}`));
  if (total.childNodes.length) fact(list, "Parts in total", total);
  result.parts.forEach((part, index) => {
    const line = el("span");
    line.dataset.part = String(index);
    const status = part.result ? part.result.status : "MISSING";
    line.append(el("span", status === "VALID" ? "tag" : "tag bad", status));
    const summary = part.result && part.result.credential;
    const said = [part.title || part.id, summary && summary.awardingBody, summary && summary.workload].filter(Boolean);
    line.append(document.createTextNode(said.join(" · ")));
    for (const problem of part.problems) line.append(el("span", "tag bad", problem));
    fact(list, `Part ${index + 1}`, line);
  });
  renderEvidence(stacked.evidence);
}

function renderEvidence(evidence) {
  const list = $("evidence");
  if (!evidence) {
    list.append(el("dd", "empty", "No anchoring proof could be read from the receipt."));
    return;
  }
  const explorer = evidence.explorer || {};
  const network = evidence.network ? `${evidence.network} (chain ${evidence.chainId})` : `chain ${evidence.chainId}`;
  fact(list, "Network", network);
  fact(list, "Registry", link(explorer.registry, evidence.registry));
  fact(list, "Batch", `batch ${evidence.batchId}, credential ${evidence.index}`);
  if (evidence.issuerName) {
    fact(list, "Anchored by", `${evidence.issuerName} (${evidence.issuerCountry}), issuer ${evidence.issuerId}: ${evidence.issuerUri}`);
  } else {
    fact(list, "Issuer (receipt)", `issuer ${evidence.issuerId}`);
  }
  // Only what the endpoints agreed on is evidence; a receipt's own claim is labelled as one.
  if (evidence.transactionHashOnChain) {
    fact(list, "Transaction", link(explorer.transaction, evidence.transactionHashOnChain));
  } else {
    fact(list, "Transaction (claimed, unconfirmed)", el("span", "mono", evidence.transactionHash));
  }
  if (evidence.anchoredAtBlockOnChain !== null && evidence.anchoredAtBlockOnChain !== undefined) {
    fact(list, "Block", link(explorer.block, String(evidence.anchoredAtBlockOnChain)));
    fact(list, "Anchored at", when(evidence.anchoredAtOnChain));
  } else {
    fact(list, "Block (claimed, unconfirmed)", String(evidence.blockNumber));
    fact(list, "Anchored at (claimed, unconfirmed)", when(evidence.anchoredAt));
  }
  fact(list, "Merkle root", el("span", "mono", evidence.root));
  fact(list, "Credential digest", el("span", "mono", evidence.digest));
  const revocation = evidence.revocation;
  if (revocation) {
    const text = el("span");
    text.append(el("span", "tag bad", revocation.scope === "batch" ? "batch revoked" : "revoked"));
    const time = revocation.revokedAt ? ` on ${when(revocation.revokedAt)}` : "";
    text.append(document.createTextNode(`${revocation.reason} (code ${revocation.reasonCode})${time}`));
    fact(list, "Revocation", text);
  }
  fact(list, "Registry trusted from", evidence.registryTrustedBy);
  fact(list, "Checked with", evidence.endpoints.join(", "));
}

// ---------------------------------------------------------------- actions

async function verify() {
  const text = $("receipt").value.trim();
  if (!text) {
    $("receipt").focus();
    return;
  }
  await post(text, "application/json");
}

// POST a receipt (JSON text) or a baked badge (the image's bytes, image/png or image/svg+xml) to /verify.
async function post(body, contentType) {
  const button = $("verify");
  button.disabled = true;
  showPending("Verifying…");
  try {
    const response = await fetch("/verify", {
      method: "POST",
      headers: { "Content-Type": contentType },
      body,
    });
    let answer;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (answer && Array.isArray(answer.checks)) {
      await showResult(answer);
    } else {
      const message = answer && answer.error ? answer.error.message : `HTTP ${response.status}`;
      showError(message);
    }
  } catch (error) {
    showError(`The verifier could not be reached: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function showError(message) {
  const verdict = $("verdict");
  verdict.dataset.verdict = "ERROR";
  verdict.dataset.status = "ERROR";
  $("verdict-word").textContent = "ERROR";
  $("verdict-summary").textContent = message;
}

async function share() {
  const text = $("receipt").value.trim();
  const status = $("share-status");
  if (!text) {
    status.textContent = "Paste or open a receipt first.";
    return;
  }
  const url = await linkFor(text);
  const field = $("share-link");
  field.value = url;
  field.hidden = false;
  field.select();
  try {
    await navigator.clipboard.writeText(url);
    status.textContent = `Link copied (${url.length} characters). The receipt travels in the link; the server never logs it.`;
  } catch {
    status.textContent = "Copy the link below.";
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// The media type of a baked badge image (PNG by its signature, SVG by its type or name), else null.
function badgeType(file, bytes) {
  if (PNG_SIGNATURE.every((byte, i) => bytes[i] === byte)) return "image/png";
  if (file.type === "image/svg+xml" || /\.svg$/i.test(file.name)) return "image/svg+xml";
  return null;
}

async function loadFile(file) {
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = badgeType(file, bytes);
  if (type) {
    // a badge carries its receipt: the server unbakes and verifies it; the box stays empty
    $("receipt").value = "";
    await post(bytes, type);
    return;
  }
  $("receipt").value = new TextDecoder().decode(bytes);
  await verify();
}

function wire() {
  $("verify").addEventListener("click", verify);
  $("share").addEventListener("click", share);
  $("file").addEventListener("change", (event) => loadFile(event.target.files[0]));
  const drop = $("drop");
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    loadFile(event.dataTransfer.files[0]);
  });
  $("receipt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) verify();
  });
  window.addEventListener("hashchange", fromLink);
}

async function fromLink() {
  let text;
  try {
    text = await receiptFromFragment();
  } catch (error) {
    showPending("");
    showError(`The link does not carry a readable receipt: ${error.message || error}`);
    return;
  }
  if (text === null) return;
  $("receipt").value = text;
  await verify();
}

wire();
fromLink();
