// The microphone page's audio worklet (loaded by mic.js with audioWorklet.addModule, from this
// service like every script): the capture's first channel as 16-bit PCM (linear16), posted to the
// page in blocks of 2048 samples (128 ms at 16 kHz), each block's buffer transferred, not copied.
// Its output stays silent (connected only so the graph keeps pulling it).
"use strict";

const BLOCK = 2048;

class Linear16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Int16Array(BLOCK);
    this.filled = 0;
    this.running = true;
    this.port.onmessage = (message) => {
      if (message.data === "stop") this.running = false;
    };
  }

  process(inputs) {
    const samples = inputs[0] && inputs[0][0];
    if (samples) {
      for (let i = 0; i < samples.length; i += 1) {
        const s = Math.max(-1, Math.min(1, samples[i]));
        this.block[this.filled] = s < 0 ? s * 0x8000 : s * 0x7fff;
        this.filled += 1;
        if (this.filled === BLOCK) {
          this.port.postMessage(this.block.buffer, [this.block.buffer]);
          this.block = new Int16Array(BLOCK);
          this.filled = 0;
        }
      }
    }
    return this.running;
  }
}

registerProcessor("linear16-capture", Linear16Capture);
