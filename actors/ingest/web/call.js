// A call's transcript page: /call?id=ID shows the stored call and its segments with audio times.
"use strict";

function fact(name, value) {
  const row = element("tr");
  row.append(element("th", "", name), element("td", "", value === null ? "" : String(value)));
  document.getElementById("facts").append(row);
}

async function showCall() {
  const id = new URLSearchParams(location.search).get("id");
  if (!id) {
    showStatus("no call id: use /call?id=CALL_ID");
    return;
  }
  const body = await ingestJson("/v1/calls/" + encodeURIComponent(id));
  const call = body.call;
  document.getElementById("title").textContent = "Call " + call.id;
  fact("status", call.status);
  fact("platform", call.platform);
  fact("started", call.started_at);
  fact("ended", call.ended_at);
  fact("channels", call.channels.join(", "));
  fact("language", call.language);
  fact("instance", call.instance_id);
  for (const [name, value] of Object.entries(call.stats)) fact(name, value);
  const list = document.getElementById("segments");
  for (const segment of body.segments) {
    const line = element("div", "segment");
    line.append(element("span", "time", audioTime(segment.start) + "-" + audioTime(segment.end)));
    line.append(element("span", "label", (segment.channel_label || segment.channel) + ": "));
    line.append(element("span", "words", segment.transcript));
    list.append(line);
  }
}

setUpLogin();
showCall().catch(() => {});
