// percl phone: a WebRTC softphone for percl (no build step, no third-party code).
// It speaks the signalling protocol of /webrtc/v1/socket (telephony/webrtc/socket.py): the page
// always makes the offer, with every ICE candidate in it (no trickling), and sends keys as
// {"type": "dtmf"} messages.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const GATHER_TIMEOUT_MS = 5000;
  const KEYS = "0123456789*#";
  const state = {
    ws: null, pc: null, stream: null, callId: null, incoming: null, keys: "", token: null,
    usesLeft: null,
  };

  function status(text) { $("status").textContent = text; }

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/webrtc/v1/socket`;
  }

  function send(message) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
  }

  function connect(token) {
    if (state.ws) state.ws.close();
    state.token = token;
    status("Connecting…");
    const ws = new WebSocket(socketUrl());
    state.ws = ws;
    ws.onopen = () => send({ type: "hello", token });
    ws.onmessage = (event) => handle(JSON.parse(event.data));
    ws.onclose = () => {
      if (state.ws !== ws) return;
      state.ws = null;
      endCall();
      setButtons();
      status("Disconnected: connect again with a token.");
    };
  }

  const handlers = {
    ready(m) {
      showLine(m);
      // The token stays in memory only: the field is cleared so it is not left on screen.
      $("token").value = "";
      $("token").placeholder = "Connected. Paste another token to switch.";
      status("Connected. Press Call, or register a number to be called.");
      setButtons();
      register();
    },
    registered(m) { status(`Connected; calls to ${m.number} ring here.`); },
    async answer(m) {
      if (state.pc) await state.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
      status(`Connecting audio (${m.codec})…`);
      $("call-info").textContent = `Audio codec: ${m.codec}`;
    },
    call(m) {
      state.callId = m.callId;
      if (m.direction === "outgoing") showLine(m);
      clearTranscript(m.callId);
      status(m.direction === "outgoing" ? `Calling ${m.to}…` : `Answering ${m.from}…`);
      setButtons();
    },
    answered() { status("In call."); },
    incoming(m) {
      state.incoming = m.callId;
      $("incoming-text").textContent = `Incoming call from ${m.from}`;
      $("incoming").hidden = false;
      status(`Incoming call from ${m.from}.`);
      $("answer").focus();
    },
    transcript(m) { if (m.callId === state.callId) m.entries.forEach(showEntry); },
    ended(m) {
      if (m.callId === state.incoming) hideIncoming();
      if (m.callId === state.callId || !state.callId) endCall();
      status(m.reason ? `Call ended (${m.reason}).` : "Call ended.");
    },
    error(m) {
      status(`Error: ${m.message}`);
      if (m.request === "call" || m.request === "accept") endCall();
    },
  };

  function showLine(m) {
    state.usesLeft = m.usesLeft;
    $("line-info").textContent =
      `Calls go from ${m.from} to ${m.to}; this token may place ${m.usesLeft} more call(s).`;
  }

  function handle(message) {
    const handler = handlers[message.type];
    if (handler) handler(message);
  }

  async function makePeer() {
    const processing = $("processing").checked;
    const constraints = {
      echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing,
    };
    const stream = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    const pc = new RTCPeerConnection();
    const transceiver = pc.addTransceiver(stream.getAudioTracks()[0],
      { direction: "sendrecv", streams: [stream] });
    preferCodec(transceiver, $("codec").value);
    pc.ontrack = (event) => {
      $("remote").srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed") status("Audio connection failed.");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    state.pc = pc;
    state.stream = stream;
    return pc;
  }

  // The chosen codec first; the others stay as fallbacks (setCodecPreferences before the offer).
  function preferCodec(transceiver, name) {
    if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
    const codecs = RTCRtpReceiver.getCapabilities("audio").codecs;
    const wanted = `audio/${name}`.toLowerCase();
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
    transceiver.setCodecPreferences([...first, ...codecs.filter((c) => !first.includes(c))]);
  }

  function gathered(pc) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, GATHER_TIMEOUT_MS);
    });
  }

  async function placeCall() {
    try {
      status("Starting the microphone…");
      clearTranscript();
      const pc = await makePeer();
      send({ type: "call", sdp: pc.localDescription.sdp });
      state.callId = "pending";
      setButtons();
    } catch (err) {
      status(`Cannot call: ${err.message}`);
      endCall();
    }
  }

  async function acceptCall() {
    const callId = state.incoming;
    hideIncoming();
    clearTranscript();
    try {
      const pc = await makePeer();
      state.callId = callId;
      send({ type: "accept", callId, sdp: pc.localDescription.sdp });
      setButtons();
    } catch (err) {
      status(`Cannot answer: ${err.message}`);
      send({ type: "decline", callId });
      endCall();
    }
  }

  function declineCall() {
    if (state.incoming) send({ type: "decline", callId: state.incoming });
    hideIncoming();
    status("Declined.");
  }

  function hideIncoming() {
    state.incoming = null;
    $("incoming").hidden = true;
  }

  function hangUp() {
    send({ type: "hangup" });
    endCall();
  }

  function endCall() {
    if (state.pc) state.pc.close();
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.pc = null;
    state.stream = null;
    state.callId = null;
    state.keys = "";
    $("keys-sent").textContent = "";
    $("call-info").textContent = "";
    setButtons();
  }

  function press(key) {
    if (!KEYS.includes(key) || !state.callId) return;
    send({ type: "dtmf", digits: key });
    state.keys += key;
    $("keys-sent").textContent = `Keys sent: ${state.keys}`;
  }

  function register() {
    const number = $("my-number").value.trim();
    if (number && state.ws) send({ type: "register", number });
  }

  function setButtons() {
    const connected = Boolean(state.ws);
    $("call").disabled = !connected || Boolean(state.callId) || state.usesLeft === 0;
    $("hangup").disabled = !state.callId;
    $("register").disabled = !connected;
  }

  function clearTranscript(callId) {
    $("transcript").replaceChildren();
    $("transcript").dataset.callId = callId || "";
  }

  function showEntry(entry) {
    const item = document.createElement("li");
    const at = (entry.atMs / 1000).toFixed(1).padStart(5, " ");
    const detail = entry.text || entry.digits || entry.url || entry.machineType || entry.by || "";
    item.textContent = `${at}s  ${entry.type}${detail ? ": " + detail : ""}`;
    item.dataset.type = entry.type;
    $("transcript").append(item);
  }

  function defaultNumber() {
    const saved = localStorage.getItem("percl-phone-number");
    if (saved) return saved;
    const digits = String(Math.floor(Math.random() * 1000)).padStart(3, "0");
    return `+15550100${digits}`;
  }

  function start() {
    $("my-number").value = defaultNumber();
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token").value.trim() || state.token;
      if (token) connect(token);
    });
    $("register-form").addEventListener("submit", (event) => {
      event.preventDefault();
      localStorage.setItem("percl-phone-number", $("my-number").value.trim());
      register();
    });
    $("call").addEventListener("click", placeCall);
    $("hangup").addEventListener("click", hangUp);
    $("answer").addEventListener("click", acceptCall);
    $("decline").addEventListener("click", declineCall);
    $("keypad").addEventListener("click", (event) => {
      const key = event.target.dataset && event.target.dataset.key;
      if (key) press(key);
    });
    document.addEventListener("keydown", (event) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
      if (!typing && KEYS.includes(event.key)) press(event.key);
    });
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    if (token) {
      $("token").value = token;
      history.replaceState(null, "", location.pathname);  // the token leaves the address bar
      connect(token);
    }
  }

  start();
})();
