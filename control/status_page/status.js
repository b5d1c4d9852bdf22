// Switchyard status page: reads GET /v1/status every 2 s with the admin
// token and draws registries x client regions, faults, drills and events.
// Plain DOM code, no build step; every value from the server goes through
// textContent, never innerHTML.
"use strict";

const REFRESH_MS = 2000;
const tokenKey = "switchyard.token";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function row(cells, tag = "td") {
  return el("tr", {}, ...cells.map((c) => (c instanceof Node && c.tagName === tag.toUpperCase() ? c : el(tag, {}, c))));
}

function takeTokenFromUrl() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(tokenKey, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);  // keep the token out of the address bar
  }
  return sessionStorage.getItem(tokenKey);
}

function showProblem(text) {
  const p = document.getElementById("problem");
  p.textContent = text;
  p.hidden = !text;
}

// A content check's failure: the replica answers /v2/ but cannot serve (or take) images.
function contentFailure(r) {
  const last = r.health.lastProbe;
  return last && ["content_error", "content_missing", "write_error"].includes(last.result) ? last : null;
}

function replicaChip(r) {
  const lag = r.freshness && r.freshness.state !== "fresh" && r.freshness.state !== "unknown" ? r.freshness : null;
  const content = contentFailure(r);
  const chip = el("span", { class: "chip " + r.status + (r.globalEndpointRouting ? "" : " excluded") +
                                     (lag && lag.lagging ? " lagging" : ""),
                            "data-replica": r.name,
                            title: "health " + r.health.state + (lag ? "; " + lag.detail : "") +
                                   (content ? "; " + content.detail : "") });
  chip.append(r.name);
  if (!r.globalEndpointRouting) chip.append(el("span", { class: "badge" }, "excluded"));
  if (lag) chip.append(el("span", { class: "badge" }, lag.state + " " + Math.round(lag.secondsBehind) + "s"));
  if (r.health.fault !== "none") chip.append(el("span", { class: "badge" }, "fault: " + r.health.fault));
  if (content) chip.append(el("span", { class: "badge content" }, content.result));
  return chip;
}

function drawRouting(s) {
  const table = document.getElementById("routing");
  table.replaceChildren();
  table.append(row(["Registry", "Replicas", ...s.clientRegions.map((c) => "clients in " + c)], "th"));
  for (const reg of s.registries) {
    const byName = Object.fromEntries(reg.replicas.map((r) => [r.name, r]));
    const cells = [el("td", {}, el("strong", {}, reg.name), el("br"), el("small", {}, reg.global)),
                   el("td", {}, ...reg.replicas.map(replicaChip))];
    for (const client of s.clientRegions) {
      const choices = reg.routing[client] || [];
      const reason = choices.length ? choices[0].reason : "servfail";
      const td = el("td", { class: "cell " + reason, "data-registry": reg.name, "data-client": client });
      if (!choices.length) td.append("SERVFAIL");
      const sticky = s.spread === "sticky" && choices.length > 1;
      for (const c of choices) {
        td.append(replicaChip(byName[c.replica] || { name: c.replica, status: "unknown",
                                                   globalEndpointRouting: true,
                                                   health: { state: "?", fault: "none" } }));
        // Sticky sharing: each client subnet gets one replica; this is its share of them.
        if (sticky) td.append(el("small", { class: "share" }, Math.round(c.weight * 100) + "% of subnets"));
      }
      if (choices.length && reason !== "nearest") td.append(el("div", { class: "cell-note " + reason }, reason));
      if (sticky) td.append(el("div", { class: "cell-note" },
                               `one replica per /${s.stickyPrefix.ipv4} (IPv6 /${s.stickyPrefix.ipv6}) client subnet`));
      cells.push(td);
    }
    table.append(row(cells));
  }
  if (s.registryCount > s.registries.length)
    table.append(row([`… ${s.registryCount - s.registries.length} more registries (use switchyardctl)`]));
}

function drawDrills(s) {
  const faults = [];
  for (const reg of s.registries)
    for (const r of reg.replicas) {
      if (r.health.fault !== "none") faults.push(`${reg.name}/${r.name}: injected ${r.health.fault}`);
      if (!r.globalEndpointRouting) faults.push(`${reg.name}/${r.name}: excluded from global routing`);
      const content = contentFailure(r);
      if (content) faults.push(`${reg.name}/${r.name}: ${content.result}: ${content.detail}`);
      if (r.freshness && r.freshness.lagging)
        faults.push(`${reg.name}/${r.name}: lagging behind the canary, out of global routing (${r.freshness.detail})`);
    }
  const f = document.getElementById("faults");
  f.replaceChildren(faults.length ? el("ul", {}, ...faults.map((x) => el("li", {}, x)))
                                  : el("p", { class: "hint" }, "No injected faults, no exclusions."));
  const t = document.getElementById("drills");
  t.replaceChildren(row(["Drill", "Registry", "Replica", "Scenario", "State", "Phase", "Started", "Timings"], "th"));
  for (const d of [...s.drills].reverse()) {
    const timings = Object.entries(d.timings).map(([k, v]) => `${k.replace(/Ms$/, "")} ${v.toFixed(1)} ms`).join(", ");
    t.append(row([d.id, d.registry, d.replica, d.scenario, el("td", { class: d.state }, d.state), d.phase,
                  el("td", { class: "when" }, d.startedAt), timings || "-"]));
  }
  t.hidden = s.drills.length === 0;
}

function drawEvents(s) {
  const t = document.getElementById("events");
  t.replaceChildren(row(["#", "Time", "Type", "What"], "th"));
  for (const e of [...s.events].reverse()) {
    const what = Object.entries(e).filter(([k]) => !["id", "time", "type"].includes(k))
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
    t.append(row([e.id, el("td", { class: "when" }, e.time), e.type, what]));
  }
}

async function refresh() {
  const token = sessionStorage.getItem(tokenKey);
  if (!token) {
    document.getElementById("login").hidden = false;
    return;
  }
  try {
    const r = await fetch("/v1/status", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    const body = await r.json();
    if (r.status === 401) {
      sessionStorage.removeItem(tokenKey);
      document.getElementById("login").hidden = false;
      document.getElementById("content").hidden = true;
      showProblem("The token was refused: " + body.error);
      return;
    }
    if (!r.ok) throw new Error(body.error || "HTTP " + r.status);
    document.getElementById("login").hidden = true;
    document.getElementById("content").hidden = false;
    document.getElementById("summary").textContent =
        `zone ${body.zone} · generation ${body.generation} · SOA serial ${body.serial} · ${body.registryCount} registries`;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.generation = body.generation;
    drawRouting(body);
    drawDrills(body);
    drawEvents(body);
    showProblem("");
  } catch (err) {
    showProblem("Cannot read the status (" + err.message + "); showing the last one. Retrying.");
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

document.getElementById("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(tokenKey, document.getElementById("token").value.trim());
  showProblem("");
  refresh();
});
takeTokenFromUrl();
refresh();
