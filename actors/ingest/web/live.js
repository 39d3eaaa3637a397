// The live calls page: every call from /v1/calls (the shared store: all instances), and the live
// words of the active calls from the /v1/events WebSocket, per channel, as they are committed.
// On every (re)connect (the "subscribed" event) the active calls' transcripts are rebuilt from
// /v1/calls and /v1/calls/{id}, so words committed while the feed was down are not missing; a
// segment is identified by channel+start+end, so one both reloaded and received as an event shows
// once. A "dropped" event (the feed fell behind) reconnects and so resyncs.
"use strict";

const liveCalls = new Map(); // call id -> {node, status, channels: Map(label -> line), segments: Map(key -> segment)}
const endedCalls = new Map(); // call id -> final status, from call_ended events (a reload never undoes one)
const RECONNECT_MS = 2000;
let feedSocket = null;
let reconnectTimer = null;

function callBox(call) {
  let box = liveCalls.get(call.id);
  if (box) return box;
  const node = element("div", "call");
  node.dataset.callId = call.id;
  const title = element("h3");
  const link = element("a", "", call.id);
  link.href = "/call?id=" + encodeURIComponent(call.id);
  const status = element("span", "status");
  title.append(link, " (" + (call.platform || "?") + ")", status);
  node.append(title);
  box = { node: node, status: status, channels: new Map(), segments: new Map() };
  liveCalls.set(call.id, box);
  setBoxStatus(box, endedCalls.get(call.id) || call.status);
  document.getElementById("live").prepend(node);
  return box;
}

function setBoxStatus(box, status) {
  box.status.textContent = " " + status;
  box.status.className = "status status-" + status;
}

function boxStatus(box) {
  return box.status.textContent.trim();
}

function segmentKey(segment) {
  return segment.channel + "|" + segment.start + "|" + segment.end;
}

function channelWords(box, label) {
  let words = box.channels.get(label);
  if (!words) {
    const line = element("div", "channel");
    line.dataset.channel = label;
    line.append(element("span", "label", label + ":"));
    words = element("span", "words");
    line.append(words);
    box.node.append(line);
    box.channels.set(label, words);
  }
  return words;
}

// Adds the segments a call's box has not shown yet and redraws the channels they are on, each in
// call-time order. Returns how many were new.
function addSegments(box, segments) {
  const touched = new Set();
  let added = 0;
  for (const segment of segments) {
    const key = segmentKey(segment);
    if (box.segments.has(key)) continue;
    box.segments.set(key, segment);
    touched.add(segment.channel_label || String(segment.channel));
    added += 1;
  }
  if (added === 0) return 0;
  const ordered = Array.from(box.segments.values()).sort((a, b) => a.start - b.start || a.end - b.end);
  for (const label of touched) {
    const text = ordered
      .filter((s) => (s.channel_label || String(s.channel)) === label)
      .map((s) => s.transcript)
      .join(" ");
    channelWords(box, label).textContent = text.replace(/\s+/g, " ").trim();
  }
  return added;
}

function summarise() {
  let active = 0;
  let segments = 0;
  for (const box of liveCalls.values()) {
    if (boxStatus(box) === "active") active += 1;
    segments += box.segments.size;
  }
  document.getElementById("summary").textContent =
    active + " active call(s) across all instances, " + segments + " segment(s) shown";
}

// Rebuilds the live transcripts after a (re)connect: every active call's stored segments, and the
// final status of the calls shown as active that ended while the feed was down.
async function resync() {
  const listed = await ingestJson("/v1/calls?active=true&limit=1000");
  const ids = new Set();
  for (const call of listed.calls) {
    ids.add(call.id);
    callBox(call);
  }
  for (const [id, box] of liveCalls) if (boxStatus(box) === "active") ids.add(id);
  await Promise.all(Array.from(ids, async (id) => {
    let detail;
    try {
      detail = await ingestJson("/v1/calls/" + encodeURIComponent(id));
    } catch (error) {
      return; // e.g. removed from the store meanwhile
    }
    const box = callBox(detail.call);
    addSegments(box, detail.segments);
    if (detail.call.status !== "active" && boxStatus(box) === "active") setBoxStatus(box, detail.call.status);
  }));
  summarise();
}

function onEvent(event) {
  if (event.type === "subscribed") {
    showStatus("live");
    resync().catch(() => {});
    loadCalls().catch(() => {});
  } else if (event.type === "call_started") {
    callBox(event.call);
    loadCalls().catch(() => {});
  } else if (event.type === "segment") {
    const box = callBox({ id: event.call_id, status: "active", channels: [] });
    addSegments(box, [event.segment]);
  } else if (event.type === "call_ended") {
    endedCalls.set(event.call_id, event.status);
    const box = liveCalls.get(event.call_id);
    if (box) setBoxStatus(box, event.status);
    loadCalls().catch(() => {});
  } else if (event.type === "dropped") {
    showStatus("the feed fell behind; reconnecting");
    reconnect(0);
  }
  summarise();
}

// Closes the current feed socket (if any) and opens a new one after delayMs; one at a time.
function reconnect(delayMs) {
  if (feedSocket) {
    const old = feedSocket;
    feedSocket = null;
    old.onmessage = null;
    old.onclose = null;
    old.close();
  }
  if (reconnectTimer !== null) return;
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connectFeed();
  }, delayMs);
}

function connectFeed() {
  const socket = ingestSocket("/v1/events");
  feedSocket = socket;
  socket.onmessage = (message) => onEvent(JSON.parse(message.data));
  socket.onclose = () => {
    if (feedSocket !== socket) return;
    showStatus("feed closed; reconnecting");
    reconnect(RECONNECT_MS);
  };
}

function cell(row, text) {
  row.append(element("td", "", text === null || text === undefined ? "" : String(text)));
}

async function loadCalls() {
  const body = await ingestJson("/v1/calls?limit=50");
  const rows = document.getElementById("calls");
  rows.replaceChildren();
  for (const call of body.calls) {
    const row = element("tr");
    const first = element("td");
    const link = element("a", "", call.id);
    link.href = "/call?id=" + encodeURIComponent(call.id);
    first.append(link);
    row.append(first);
    cell(row, call.platform);
    const status = element("td", "status-" + call.status, call.status);
    row.append(status);
    cell(row, call.started_at);
    cell(row, call.ended_at);
    cell(row, call.stats.audio_seconds !== undefined ? Number(call.stats.audio_seconds).toFixed(1) : "");
    cell(row, call.stats.segments);
    cell(row, call.instance_id);
    rows.append(row);
  }
}

setUpLogin();
summarise();
loadCalls().then(connectFeed, () => {});
