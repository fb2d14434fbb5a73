"""The page of `kata draw`: a drawing pad, what the network sees, and what it reads.

Plain HTML and JavaScript in one string, no library: pointer events draw on the pad (a mouse,
a finger or a pen), and after each stroke the pad's grey levels go to the server, which
answers with the 28x28 image your `to_mnist` made and your `read_digit`'s ten probabilities.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kata draw: your own handwriting</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.2em; color: #1f2328; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  .row { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: flex-start; }
  .panel h2 { font-size: .95em; margin: .2em 0 .4em; color: #57606a; font-weight: 600; }
  #pad { border: 2px solid #57606a; border-radius: 6px; touch-action: none; cursor: crosshair;
         background: #fff; }
  #seen { border: 2px solid #57606a; border-radius: 6px; image-rendering: pixelated;
          background: #000; }
  #prediction { font-size: 4.5em; font-weight: 700; line-height: 1; min-width: 1ch; }
  .bar { display: flex; align-items: center; gap: .4em; margin: 2px 0; font-size: .9em; }
  .bar .digit { width: 1ch; font-weight: 600; }
  .bar .track { width: 160px; height: 14px; background: #eaeef2; border-radius: 3px; }
  .bar .fill { height: 100%; background: #8c959f; border-radius: 3px; }
  .bar.top .fill { background: #1a7f37; }
  .bar.top .digit, .bar.top .value { color: #1a7f37; font-weight: 700; }
  .bar .value { width: 4.5em; text-align: right; font-variant-numeric: tabular-nums; }
  button { font-size: 1em; padding: .35em 1.2em; margin-top: .5em; }
  #message { color: #9a6700; max-width: 60em; white-space: pre-wrap; margin-top: .8em; }
  #status { color: #57606a; font-size: .85em; margin-top: .2em; }
</style>
</head>
<body>
<h1>Draw a digit</h1>
<div id="status"></div>
<div class="row">
  <div class="panel">
    <h2>your pad</h2>
    <canvas id="pad" width="280" height="280"></canvas><br>
    <button id="clear" type="button">Clear</button>
  </div>
  <div class="panel">
    <h2>what your network sees (to_mnist)</h2>
    <canvas id="seen" width="28" height="28" style="width:168px;height:168px"></canvas>
  </div>
  <div class="panel">
    <h2>what it reads (read_digit)</h2>
    <div id="prediction">&ndash;</div>
    <div id="bars"></div>
  </div>
</div>
<div id="message"></div>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const pad = document.getElementById("pad");
const pen = pad.getContext("2d", { willReadFrequently: true });
const seen = document.getElementById("seen");
const prediction = document.getElementById("prediction");
const bars = document.getElementById("bars");
const message = document.getElementById("message");
let drawing = false, inked = false, last = null, asked = 0, sending = false, again = false;

function blank() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  seen.getContext("2d").clearRect(0, 0, 28, 28);
  prediction.textContent = "\\u2013";
  bars.innerHTML = "";
  message.textContent = "";
  inked = false;
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", event => {
  drawing = true; last = point(event); pad.setPointerCapture(event.pointerId);
  stroke(last);
});
pad.addEventListener("pointermove", event => { if (drawing) stroke(point(event)); });
for (const end of ["pointerup", "pointercancel"]) {
  pad.addEventListener(end, () => { if (drawing) { drawing = false; read(); } });
}

function stroke(to) {
  pen.strokeStyle = "#000"; pen.lineWidth = 18; pen.lineCap = "round"; pen.lineJoin = "round";
  pen.beginPath(); pen.moveTo(last[0], last[1]); pen.lineTo(to[0], to[1]); pen.stroke();
  last = to; inked = true;
  if (Date.now() - asked > 200) read();  // a reading while drawing, a few times a second
}

function pixels() {
  const rgba = pen.getImageData(0, 0, pad.width, pad.height).data;
  let text = "";
  for (let i = 0; i < rgba.length; i += 4) text += String.fromCharCode(rgba[i]);
  return btoa(text);
}

async function read() {
  if (!inked) return;
  asked = Date.now();
  if (sending) { again = true; return; }
  sending = true;
  try {
    const answer = await fetch("read?token=" + encodeURIComponent(token), {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ width: pad.width, height: pad.height, pixels: pixels() }) });
    show(await answer.json());
  } catch (error) {
    message.textContent = "kata draw does not answer (" + error + "): is it still running?";
  } finally {
    sending = false;
    if (again) { again = false; read(); }
  }
}

function show(answer) {
  if (!inked) return;  // cleared while the answer was on its way
  message.textContent = answer.message || "";
  if (!answer.probabilities) { prediction.textContent = "?"; bars.innerHTML = ""; return; }
  const picture = seen.getContext("2d").createImageData(28, 28);
  answer.seen.forEach((level, i) => {
    picture.data.set([level, level, level, 255], 4 * i);
  });
  seen.getContext("2d").putImageData(picture, 0, 0);
  prediction.textContent = String(answer.digit);
  bars.innerHTML = "";
  answer.probabilities.forEach((p, digit) => {
    const row = document.createElement("div");
    row.className = "bar" + (digit === answer.digit ? " top" : "");
    row.innerHTML = '<span class="digit"></span><span class="track"><div class="fill">' +
      '</div></span><span class="value"></span>';
    row.querySelector(".digit").textContent = digit;
    row.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
    row.querySelector(".value").textContent = (100 * p).toFixed(1) + "%";
    bars.appendChild(row);
  });
}

document.getElementById("clear").addEventListener("click", blank);
fetch("about?token=" + encodeURIComponent(token)).then(r => r.json()).then(about => {
  document.getElementById("status").textContent = about.status;
  if (about.message) message.textContent = about.message;
});
blank();
</script>
</body>
</html>
"""
