// The front-end of MaskPainter (_painter.py), loaded by anywidget.
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "cw-painter";
  const tools = document.createElement("div");
  tools.className = "cw-painter-tools";
  const button = (cls, text) => {
    const b = document.createElement("button");
    b.className = cls; b.textContent = text; b.type = "button"; tools.appendChild(b); return b;
  };
  const brush = button("cw-brush", "Brush");
  const eraser = button("cw-eraser", "Eraser");
  const clear = button("cw-clear", "Clear");
  const invert = button("cw-invert", "Invert");
  const size = document.createElement("input");
  size.type = "range"; size.min = "2"; size.max = "128"; size.className = "cw-brush-size";
  size.value = String(model.get("brush_size"));
  size.title = "Brush size"; size.setAttribute("aria-label", "Brush size");
  const sizeLabel = document.createElement("span");
  sizeLabel.className = "cw-brush-size-label"; sizeLabel.textContent = "Size";
  tools.append(sizeLabel, size);
  const stage = document.createElement("div");
  stage.className = "cw-painter-stage";
  stage.style.position = "relative"; stage.style.display = "inline-block";
  stage.style.maxWidth = "100%";
  const img = document.createElement("img");
  img.className = "cw-painter-image"; img.draggable = false; img.style.display = "block";
  const canvas = document.createElement("canvas");
  canvas.className = "cw-painter-canvas";
  canvas.style.position = "absolute"; canvas.style.left = "0"; canvas.style.top = "0";
  canvas.style.cursor = "crosshair"; canvas.style.opacity = "0.5";
  canvas.style.width = "100%"; canvas.style.height = "100%";
  img.style.maxWidth = "100%"; img.style.height = "auto";
  stage.append(img, canvas);
  // Why the kernel refused the last stroke it got (the mask before it is kept and redrawn).
  const refused = document.createElement("div");
  refused.className = "cw-painter-refused";
  const showRefused = () => {
    refused.textContent = model.get("notice");
    refused.style.display = model.get("notice") ? "" : "none";
  };
  root.append(tools, stage, refused);
  el.appendChild(root);
  const ctx = canvas.getContext("2d");

  const setMode = (mode) => {
    model.set("mode", mode); model.save_changes();
    brush.classList.toggle("cw-active", mode === "brush");
    eraser.classList.toggle("cw-active", mode === "eraser");
  };
  const send = () => { model.set("_mask_png", canvas.toDataURL("image/png")); model.save_changes(); };
  const drawMask = () => {
    const url = model.get("_mask_png");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!url) return;
    const m = new Image();
    m.onload = () => { ctx.clearRect(0, 0, canvas.width, canvas.height); ctx.drawImage(m, 0, 0); };
    m.src = url;
  };
  const load = () => {
    img.onload = () => {
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      drawMask();
    };
    img.src = model.get("_image");
  };
  let painting = false, last = null;
  const at = (event) => {
    const r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * canvas.width / r.width,
            (event.clientY - r.top) * canvas.height / r.height];
  };
  const dab = (from, to) => {
    ctx.globalCompositeOperation = model.get("mode") === "eraser" ? "destination-out" : "source-over";
    ctx.strokeStyle = "rgba(0, 170, 255, 1)"; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.lineWidth = Number(model.get("brush_size"));
    ctx.beginPath(); ctx.moveTo(from[0], from[1]); ctx.lineTo(to[0], to[1]); ctx.stroke();
  };
  canvas.addEventListener("mousedown", (e) => { painting = true; last = at(e); dab(last, last); });
  canvas.addEventListener("mousemove", (e) => { if (!painting) return; const p = at(e); dab(last, p); last = p; });
  const end = () => { if (painting) { painting = false; send(); } };
  canvas.addEventListener("mouseup", end);
  canvas.addEventListener("mouseleave", end);
  brush.addEventListener("click", () => setMode("brush"));
  eraser.addEventListener("click", () => setMode("eraser"));
  clear.addEventListener("click", () => { ctx.clearRect(0, 0, canvas.width, canvas.height); send(); });
  invert.addEventListener("click", () => {
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      const on = px[i + 3] > 0;
      px[i] = 0; px[i + 1] = 170; px[i + 2] = 255; px[i + 3] = on ? 0 : 255;
    }
    ctx.putImageData(data, 0, 0); send();
  });
  size.addEventListener("input", () => { model.set("brush_size", Number(size.value)); model.save_changes(); });
  model.on("change:_image", load);
  model.on("change:_mask_png", drawMask);
  model.on("change:notice", showRefused);
  showRefused();
  model.on("change:brush_size", () => { size.value = String(model.get("brush_size")); });
  setMode(model.get("mode"));
  load();
  // Tell the kernel a front-end shows the painter (the panel then hides its notice).
  if (!model.get("rendered")) { model.set("rendered", true); model.save_changes(); }
}
export default { render };
