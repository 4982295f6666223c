// The front-end of PageBridge (_bridge.py), loaded by anywidget: keys for the panel's lightbox,
// Shift+click ranges on the gallery's Select boxes, and downloads. It acts through the panel's
// own buttons (a click on them is what the kernel sees), so without it the panel still works.
const FOCUSABLE = "button:not([disabled]), a[href], input:not([disabled]), [tabindex]:not([tabindex='-1'])";

function render({ model, el }) {
  el.style.display = "none";
  let lightbox = null;
  let panel = null;
  let open = false;
  let observer = null;
  let tries = 0;

  const part = (css) => (lightbox ? lightbox.querySelector(css) : null);
  const click = (css) => {
    const button = part(css);
    if (button && !button.disabled) button.click();
  };
  const focusables = () =>
    Array.from(lightbox.querySelectorAll(FOCUSABLE)).filter((e) => e.offsetParent !== null);
  const isOpen = () => !!lightbox && lightbox.style.display !== "none";
  const tiles = () => (panel ? Array.from(panel.querySelectorAll(".cw-gallery > .cw-tile")) : []);

  function onKey(event) {
    if (!open) return;
    const target = event.target;
    if (!(target instanceof Node) || !(lightbox.contains(target) || target.contains(lightbox))) return;
    if (event.key === "Escape") click(".cw-lightbox-close");
    else if (event.key === "ArrowRight") click(".cw-lightbox-next");
    else if (event.key === "ArrowLeft") click(".cw-lightbox-prev");
    else if (event.key === "Tab") {
      const items = focusables();
      if (items.length === 0) {
        event.preventDefault();
        event.stopPropagation();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      const inside = lightbox.contains(document.activeElement);
      if (event.shiftKey && (!inside || document.activeElement === first)) last.focus();
      else if (!event.shiftKey && (!inside || document.activeElement === last)) first.focus();
      else {
        event.stopPropagation(); // the browser moves focus; JupyterLab must not act on it
        return;
      }
    } else return;
    event.preventDefault();
    event.stopPropagation();
  }

  function onFocusIn(event) {
    // Focus is trapped while the lightbox is open: anything outside it sends focus back.
    if (open && event.target instanceof Node && !lightbox.contains(event.target)) {
      const close = part(".cw-lightbox-close");
      if (close) close.focus();
    }
  }

  function onBackdrop(event) {
    if (event.target === lightbox) click(".cw-lightbox-close");
  }

  function onShiftClick(event) {
    if (!event.shiftKey || !(event.target instanceof Element)) return;
    const box = event.target.closest(".cw-select");
    const tile = box && box.closest(".cw-tile");
    const position = tile ? tiles().indexOf(tile) : -1;
    if (position < 0) return;
    event.preventDefault(); // the box does not toggle: the kernel selects the range
    event.stopPropagation();
    model.send({ range: position });
  }

  function changed() {
    const now = isOpen();
    if (now === open) return;
    open = now;
    if (open) {
      const close = part(".cw-lightbox-close");
      if (close) setTimeout(() => close.focus(), 0);
    } else {
      const tile = tiles()[model.get("origin")];
      const view = tile && tile.querySelector(".cw-full-size");
      if (view) view.focus();
    }
  }

  function attach() {
    // The view is drawn before it is put into the page: wait until it is in it.
    if (!el.isConnected) {
      if (tries++ < 600) requestAnimationFrame(attach);
      return;
    }
    lightbox = el.closest(".cw-lightbox");
    panel = el.closest(".cw-panel");
    if (!lightbox || !panel) return;
    observer = new MutationObserver(changed);
    observer.observe(lightbox, { attributes: true, attributeFilter: ["style"] });
    lightbox.addEventListener("click", onBackdrop);
    panel.addEventListener("click", onShiftClick, true);
    open = isOpen();
    model.set("rendered", true);
    model.save_changes();
  }

  function onMessage(message, buffers) {
    if (!message || !message.download || !buffers || !buffers.length) return;
    const blob = new Blob([buffers[0]], { type: message.mime || "application/octet-stream" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = message.download;
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // Capture on the window: before JupyterLab's own shortcuts (Escape would leave the cell).
  window.addEventListener("keydown", onKey, true);
  document.addEventListener("focusin", onFocusIn, true);
  model.on("msg:custom", onMessage);
  attach();
  return () => {
    window.removeEventListener("keydown", onKey, true);
    document.removeEventListener("focusin", onFocusIn, true);
    model.off("msg:custom", onMessage);
    if (observer) observer.disconnect();
    if (lightbox) lightbox.removeEventListener("click", onBackdrop);
    if (panel) panel.removeEventListener("click", onShiftClick, true);
  };
}

export default { render };
