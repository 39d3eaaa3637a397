// The microphone page: getUserMedia -> AudioContext at 16 kHz -> the "linear16-capture" audio
// worklet (/web/mic-worklet.js: Float32 to Int16 off the main thread) -> binary frames on a
// WebSocket to /v1/stream (the plain stream's protocol), and the call's words from /v1/events as
// the service commits them.
"use strict";

let mic = null; // {stream, context, socket, feed, node}

function setState(text) {
  document.getElementById("state").textContent = text;
}

function openSocket(path) {
  return new Promise((resolve, reject) => {
    const socket = ingestSocket(path);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error("cannot open " + path));
  });
}

// The feed first (so no word of the call is missed), filtered to this call.
async function followCall(callId) {
  const feed = await openSocket("/v1/events");
  const transcript = document.getElementById("transcript");
  const subscribed = new Promise((resolve) => {
    feed.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "subscribed") resolve();
      if (event.type === "segment" && event.call_id === callId) {
        transcript.textContent = (transcript.textContent + " " + event.segment.transcript).trim();
      }
      if (event.type === "call_ended" && event.call_id === callId) {
        setState("ended: " + event.status);
        feed.close();
      }
    };
  });
  await subscribed;
  return feed;
}

async function start() {
  document.getElementById("start").disabled = true;
  const callId = "mic-" + Date.now() + "-" + Math.floor(Math.random() * 1e6);
  document.getElementById("call-id").textContent = callId;
  document.getElementById("transcript").textContent = "";
  try {
    setState("asking for the microphone");
    // The raw signal: no echo cancellation, noise suppression or gain control reshaping it.
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext({ sampleRate: 16000 });
    await context.audioWorklet.addModule("/web/mic-worklet.js");
    const feed = await followCall(callId);
    const socket = await openSocket("/v1/stream");
    socket.onmessage = (message) => {
      const reply = JSON.parse(message.data);
      if (reply.type === "started") setState("streaming");
      if (reply.type === "error") setState("error: " + reply.message);
    };
    socket.onclose = () => {
      if (mic && mic.socket === socket) stopCapture();
    };
    socket.send(JSON.stringify({
      type: "start", version: 1, call_id: callId, encoding: "linear16",
      sample_rate: context.sampleRate, channels: ["mic"], metadata: { source: "mic page" },
    }));
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "linear16-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1,
      channelCountMode: "explicit",
    });
    node.port.onmessage = (message) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(message.data); // 2048 samples of linear16
    };
    source.connect(node);
    node.connect(context.destination); // silent; keeps the node pulled
    mic = { stream: stream, context: context, socket: socket, feed: feed, node: node };
    document.getElementById("stop").disabled = false;
  } catch (error) {
    setState("failed: " + error.message);
    document.getElementById("start").disabled = false;
  }
}

function stopCapture() {
  if (!mic) return;
  mic.node.port.onmessage = null;
  mic.node.port.postMessage("stop");
  mic.node.disconnect();
  for (const track of mic.stream.getTracks()) track.stop();
  mic.context.close();
  mic = null;
  document.getElementById("stop").disabled = true;
  document.getElementById("start").disabled = false;
}

function stop() {
  if (!mic) return;
  const socket = mic.socket;
  stopCapture();
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  setState("finishing");
}

setUpLogin();
document.getElementById("start").addEventListener("click", start);
document.getElementById("stop").addEventListener("click", stop);
ingestJson("/v1/calls?limit=1").catch(() => {}); // shows the login form when a token is needed
