// The live calls page: every call from /v1/calls (the shared store: all instances), and the live
// words of this instance's calls from the /v1/events WebSocket, per channel, as they are committed.
"use strict";

const liveCalls = new Map(); // call id -> {node, channels: Map(label -> words span)}
let segmentsSeen = 0;

function callBox(call) {
  let box = liveCalls.get(call.id);
  if (box) return box;
  const node = element("div", "call");
  node.dataset.callId = call.id;
  const title = element("h3");
  const link = element("a", "", call.id);
  link.href = "/call?id=" + encodeURIComponent(call.id);
  const status = element("span", "status status-" + call.status, " " + call.status);
  title.append(link, " (" + (call.platform || "?") + ")", status);
  node.append(title);
  box = { node: node, status: status, channels: new Map(), labels: call.channels || [] };
  liveCalls.set(call.id, box);
  document.getElementById("live").prepend(node);
  return box;
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

function summarise() {
  let active = 0;
  for (const box of liveCalls.values()) if (box.status.textContent.trim() === "active") active += 1;
  document.getElementById("summary").textContent =
    active + " active call(s) on this instance, " + segmentsSeen + " segment(s) committed since this page opened";
}

function onEvent(event) {
  if (event.type === "subscribed") {
    showStatus("live");
  } else if (event.type === "call_started") {
    callBox(event.call);
    loadCalls();
  } else if (event.type === "segment") {
    const box = callBox({ id: event.call_id, status: "active", channels: [] });
    const segment = event.segment;
    const label = segment.channel_label || String(segment.channel);
    const words = channelWords(box, label);
    words.textContent = (words.textContent + " " + segment.transcript).trim();
    segmentsSeen += 1;
  } else if (event.type === "call_ended") {
    const box = liveCalls.get(event.call_id);
    if (box) {
      box.status.textContent = " " + event.status;
      box.status.className = "status status-" + event.status;
    }
    loadCalls();
  } else if (event.type === "dropped") {
    showStatus("the feed fell behind; reconnecting");
  }
  summarise();
}

function connectFeed() {
  const socket = ingestSocket("/v1/events");
  socket.onmessage = (message) => onEvent(JSON.parse(message.data));
  socket.onclose = () => {
    showStatus("feed closed; reconnecting");
    setTimeout(connectFeed, 2000);
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
