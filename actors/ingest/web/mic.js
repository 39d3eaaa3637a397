// The microphone page: getUserMedia -> AudioContext at 16 kHz -> Float32 to Int16 (linear16) ->
// binary frames on a WebSocket to /v1/stream (the plain stream's protocol), and the call's words
// from /v1/events as the service commits them.
"use strict";

let mic = null; // {stream, context, socket, feed}

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

function linear16(samples) {
  const pcm = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    pcm[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
  }
  return pcm;
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
    const processor = context.createScriptProcessor(2048, 1, 1); // 128 ms at 16 kHz
    processor.onaudioprocess = (event) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(linear16(event.inputBuffer.getChannelData(0)).buffer);
    };
    source.connect(processor);
    processor.connect(context.destination);
    mic = { stream: stream, context: context, socket: socket, feed: feed, processor: processor };
    document.getElementById("stop").disabled = false;
  } catch (error) {
    setState("failed: " + error.message);
    document.getElementById("start").disabled = false;
  }
}

function stopCapture() {
  if (!mic) return;
  mic.processor.onaudioprocess = null;
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
