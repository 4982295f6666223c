"""The panel's looks: one ``<style>`` scoped to ``.cw-panel``, in JupyterLab's theme variables.

Core ipywidgets cannot ship a stylesheet, so the panel carries one in an HTML widget. Every
colour is a ``--jp-*`` variable (with a light fallback for front ends without them, e.g.
Colab), so the panel follows JupyterLab's light and dark themes, Voilà's and VS Code's. Text
uses ``--jp-ui-font-color1``/``2`` on ``--jp-layout-color1``: at least 4.5:1 in both themes
(a browser test computes it). Tints are mixed from a theme colour and the panel's background,
so they stay readable whichever theme is active.
"""

from __future__ import annotations

import ipywidgets as widgets

from ._dom import classed, made

__all__ = ["CSS", "TILE_STATES", "style_widget"]

_BG = "var(--jp-layout-color1, #fff)"
_BG2 = "var(--jp-layout-color2, #eee)"
_FG = "var(--jp-ui-font-color1, rgba(0,0,0,.87))"
_FG2 = "var(--jp-ui-font-color2, rgba(0,0,0,.6))"
_BORDER = "var(--jp-border-color2, #e0e0e0)"
_BRAND = "var(--jp-brand-color1, #1976d2)"
_WARN = "var(--jp-warn-color1, #f57c00)"
_ERROR = "var(--jp-error-color1, #d32f2f)"
_OK = "var(--jp-success-color1, #388e3c)"


#: A gallery tile's states, each a CSS class on the tile (``Tile._state`` sets exactly one).
TILE_STATES = {state: f"cw-tile-{state}" for state in ("pending", "partial", "image", "failed")}
#: What each state hides of its tile's parts (a part not listed is shown; ``cw-saved`` is
#: also hidden by its own layout until something is saved).
_TILE_HIDES = {
    "pending": (
        "cw-thumb",
        "cw-image-error",
        "cw-caption",
        "cw-tile-actions",
        "cw-saved",
        "cw-select",
    ),
    "partial": ("cw-placeholder", "cw-image-error", "cw-tile-actions", "cw-saved", "cw-select"),
    "image": ("cw-placeholder", "cw-image-error"),
    "failed": ("cw-thumb", "cw-placeholder", "cw-select"),
}
_TILE_CSS = "\n".join(
    ", ".join(f".{TILE_STATES[state]} .{part}" for part in parts) + " { display: none !important; }"
    for state, parts in _TILE_HIDES.items()
)


def _tint(colour: str, percent: int) -> str:
    return f"color-mix(in srgb, {colour} {percent}%, {_BG})"


CSS = f"""
.cw-panel {{
  box-sizing: border-box; width: 100%; max-width: 100%; min-width: 0;
  border: 1px solid {_BORDER}; border-radius: 10px; background: {_BG}; color: {_FG};
  padding: 12px 14px 14px; gap: 10px; overflow: hidden;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.4;
}}
/* the panel's main box is the container its columns follow (a cell's width, not the
   window's); not the panel itself, whose lightbox must not be contained (a query container
   is the containing block of its position: fixed descendants) */
.cw-main {{ container-type: inline-size; container-name: cw-panel; gap: 10px; }}
.cw-main > *, .cw-panel > * {{ margin: 0 !important; max-width: 100%; min-width: 0; }}
.cw-panel * {{ box-sizing: border-box; }}
.cw-panel .widget-html-content {{ color: {_FG}; line-height: 1.4; font-size: inherit; }}
.cw-panel .widget-label {{ color: {_FG}; }}
.cw-panel .cw-stylesheet {{ display: none !important; }}

/* header */
.cw-header {{ align-items: center; gap: 8px; flex-wrap: wrap;
  border-bottom: 1px solid {_BORDER}; padding-bottom: 8px; }}
.cw-title .widget-html-content {{ font-size: var(--jp-ui-font-size3, 16px); font-weight: 600; }}
.cw-badge .widget-html-content {{
  display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }}
.cw-badge.cw-offline .widget-html-content {{ background: {_tint(_WARN, 22)};
  border: 1px solid {_WARN}; color: {_FG}; }}
.cw-badge.cw-online .widget-html-content {{ background: {_tint(_OK, 16)};
  border: 1px solid {_OK}; color: {_FG}; }}
.cw-badge.cw-local .widget-html-content {{ background: {_tint(_BRAND, 14)};
  border: 1px solid {_BRAND}; color: {_FG}; }}
.cw-header-spacer {{ flex: 1 1 auto; }}
.cw-offline-banner .widget-html-content {{ color: {_FG2}; font-size: 12px; }}

/* fields */
.cw-panel .cw-field {{ flex-direction: column !important; align-items: stretch !important;
  width: auto !important; min-width: 0; margin: 0 !important; height: auto !important; }}
.cw-panel .cw-field > .widget-label, .cw-panel .cw-field > label {{
  width: auto !important; max-width: none; text-align: left; color: {_FG};
  font-weight: 600; margin: 0 0 3px 0; padding: 0; line-height: 1.3; height: auto; }}
.cw-panel .cw-field select, .cw-panel .cw-field input, .cw-panel .cw-field textarea {{
  width: 100% !important; min-width: 0; max-width: 100%; }}
.cw-panel .cw-prompt {{ width: 100% !important; }}
.cw-panel .cw-prompt textarea {{ min-height: 4.6em; resize: vertical; font-family: inherit;
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.4; padding: 6px 8px; }}
.cw-fields {{ display: grid !important; gap: 10px 12px; width: 100%;
  grid-template-columns: repeat(auto-fill, minmax(10.5em, 1fr)); align-items: start; }}
.cw-fields > * {{ min-width: 0; margin: 0 !important; }}
.cw-size-box {{ flex-direction: column; min-width: 0; margin: 0 !important; }}
.cw-size-box > * {{ width: 100% !important; margin: 0 !important; }}
.cw-panel .cw-field select {{ height: var(--jp-widgets-inline-height, 28px);
  flex: 0 0 auto; }}
.cw-model-field {{ gap: 4px; grid-column: span 2; min-width: 0; }}
.cw-advanced-toggle {{ align-self: flex-start; width: auto !important; }}
.cw-panel button.cw-advanced-toggle {{ background: transparent; box-shadow: none;
  color: {_BRAND}; padding: 0 4px; font-weight: 600; height: auto; }}
.cw-panel button.cw-advanced-toggle:hover {{ text-decoration: underline; box-shadow: none; }}
.cw-advanced {{ padding: 10px; border: 1px dashed {_BORDER}; border-radius: 8px; }}
/* A grid container's "display: grid !important" must not beat its layout's display: none. */
.cw-panel .cw-fields[style*="display: none"] {{ display: none !important; }}
.cw-next-run .cw-fields, .cw-next-run .cw-prompt {{ opacity: .85; }}
.cw-next-note .widget-html-content {{ color: {_FG2}; font-size: 12px; font-style: italic; }}

/* actions and status */
.cw-actions-row {{ align-items: center; gap: 10px; flex-wrap: wrap; }}
.cw-actions-row > * {{ margin: 0 !important; }}
.cw-panel button.cw-generate, .cw-panel button.cw-cancel {{ min-width: 8em; width: auto; }}
/* the status takes the row's room and wraps its words, so the elapsed time stays beside it */
.cw-actions-row > .cw-status {{ flex: 1 1 14em; min-width: 0; }}
.cw-status .widget-html-content {{ font-weight: 600; white-space: normal;
  overflow-wrap: break-word; }}
.cw-elapsed .widget-html-content {{ color: {_FG2}; font-variant-numeric: tabular-nums; }}
.cw-estimate .widget-html-content {{ color: {_FG2}; white-space: nowrap; }}

/* messages: one box per problem, proportional and wrapped */
.cw-message .widget-html-content {{ display: block; white-space: normal;
  overflow-wrap: break-word; word-break: normal; border-radius: 6px; padding: 8px 12px;
  border-left: 4px solid {_BRAND}; background: {_tint(_BRAND, 8)}; color: {_FG}; }}
.cw-message.cw-error .widget-html-content {{ border-left-color: {_ERROR};
  background: {_tint(_ERROR, 10)}; }}
.cw-message.cw-validation .widget-html-content {{ border-left-color: {_WARN};
  background: {_tint(_WARN, 12)}; }}
.cw-message.cw-quiet .widget-html-content {{ border-left-color: {_BORDER};
  background: transparent; color: {_FG2}; padding: 2px 10px; }}
.cw-message .cw-what {{ font-weight: 600; }}
.cw-message .cw-rid {{ color: {_FG2}; font-size: 12px; }}

/* words: each message one line (cw-line), its technical facts behind "Details" */
/* (the main text colour, smaller: the secondary one is under 4.5:1 on the error tints) */
.cw-panel .cw-details {{ margin-top: 3px; font-size: 12px; color: {_FG}; }}
.cw-panel .cw-details > summary {{ cursor: pointer; width: fit-content; color: {_FG};
  list-style-position: inside; }}
.cw-panel .cw-details > summary:hover {{ text-decoration: underline; }}
.cw-panel .cw-details-body {{ margin: 3px 0 0 2px; padding: 2px 8px; color: {_FG};
  border-left: 2px solid {_BORDER}; overflow-wrap: anywhere; user-select: text; }}
.cw-panel .cw-details .cw-rid {{ font-family: var(--jp-code-font-family, monospace);
  color: {_FG}; }}
.cw-image-error .cw-details {{ font-size: 11px; }}
/* a caption's second line: the model, the size, where it comes from */
.cw-caption .cw-detail, .cw-lightbox-caption .cw-detail, .cw-edit-area .cw-detail,
.cw-library-info .cw-detail {{ color: {_FG2}; font-size: 12px; }}
.cw-panel .widget-html-content:has(> .cw-details) {{ white-space: normal; overflow: visible; }}
/* choices: the "Other…" model box and the "Custom…" WxH box under their lists */
.cw-panel .cw-model-other, .cw-panel .cw-size-custom {{ width: 100% !important;
  margin: 4px 0 0 0 !important; }}
.cw-panel .cw-model-other input, .cw-panel .cw-size-custom input {{ width: 100% !important;
  min-width: 0; }}
.cw-usage .widget-html-content {{ color: {_FG2}; font-size: 12px; }}

/* edit mode: the input strip, the mask painter */
.cw-edit-area {{ border: 1px solid {_tint(_BRAND, 45)}; border-radius: 8px; padding: 10px 12px;
  gap: 8px; background: {_tint(_BRAND, 5)}; }}
.cw-edit-area > * {{ margin: 0 !important; min-width: 0; }}
.cw-edit-bar {{ align-items: center; gap: 8px; flex-wrap: wrap; border-radius: 8px;
  padding: 6px 10px; border: 1px solid {_tint(_BRAND, 45)}; background: {_tint(_BRAND, 5)}; }}
.cw-edit-bar > * {{ margin: 0 !important; }}
.cw-edit-area .widget-html-content {{ white-space: normal; overflow-wrap: break-word; }}
.cw-panel button.cw-back-to-generate {{ width: auto; }}
.cw-inputs {{ gap: 8px; overflow-x: auto; overflow-y: hidden; flex-wrap: nowrap;
  padding: 2px 0 4px; }}
.cw-inputs > * {{ margin: 0 !important; flex: 0 0 auto; }}
.cw-input {{ position: relative; width: 108px; gap: 2px; padding: 4px; border-radius: 6px;
  border: 1px solid {_BORDER}; background: {_BG}; }}
.cw-input img.cw-input-thumb {{ width: 98px; height: 98px; object-fit: contain; margin: 0;
  border-radius: 4px; background-color: {_BG2}; }}
.cw-input:first-child {{ border-color: {_BRAND}; }}
.cw-input-label .widget-html-content {{ font-size: 11px; line-height: 1.3;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.cw-input-label span {{ display: block; overflow: hidden; text-overflow: ellipsis; }}
.cw-panel button.cw-input-remove {{ position: absolute; top: 7px; right: 7px; width: 24px;
  height: 24px; min-width: 0; padding: 0; margin: 0; border-radius: 50%; line-height: 24px;
  background: {_BG}; color: {_FG}; border: 1px solid {_BORDER};
  box-shadow: 0 1px 3px rgba(0,0,0,.25); }}
.cw-panel button.cw-input-remove:hover {{ color: {_ERROR}; border-color: {_ERROR}; }}
.cw-panel button.cw-input-remove i {{ margin: 0 !important; }}
.cw-mask-area {{ gap: 6px; }}
.cw-mask-area > * {{ margin: 0 !important; }}
.cw-mask-slot {{ max-width: 100%; }}
.cw-mask-painter {{ max-width: 100%; margin: 0 !important; }}
.cw-panel .cw-painter-tools {{ display: flex; gap: 6px; align-items: center;
  flex-wrap: wrap; margin: 0 0 6px 0; }}
.cw-panel .cw-painter-tools button {{ font: inherit; color: {_FG}; background: {_BG2};
  border: 1px solid {_BORDER}; border-radius: 4px; padding: 3px 10px; cursor: pointer; }}
.cw-panel .cw-painter-tools button.cw-active {{ background: {_tint(_BRAND, 22)};
  border-color: {_BRAND}; font-weight: 600; }}
.cw-panel .cw-brush-size-label {{ color: {_FG2}; font-size: 12px; margin-left: 6px; }}
.cw-panel .cw-painter-stage {{ border-radius: 6px; overflow: hidden; line-height: 0;
  border: 1px solid {_BORDER}; }}
.cw-panel div.cw-painter-stage {{ max-width: min(100%, 420px) !important; }}
.cw-panel img.cw-painter-image {{ max-width: 100% !important; }}
.cw-painter-notice .widget-html-content, .cw-mask-note .widget-html-content {{
  color: {_FG2}; font-size: 12px; }}
.cw-painter-notice .widget-html-content {{ border-left: 3px solid {_WARN}; padding: 2px 8px; }}
.cw-panel button.cw-upload {{ width: auto; font-size: 0; }}
/* FileUpload writes "description (count)"; the count of a control that is emptied after each
   upload is noise, so the label is drawn here (the description stays for screen readers). */
.cw-panel button.cw-upload i {{ font-size: var(--jp-ui-font-size1, 13px); margin-right: 6px; }}
.cw-panel button.cw-upload::after {{ content: "Upload to edit";
  font-size: var(--jp-ui-font-size1, 13px); }}
.cw-panel button.cw-upload.cw-upload-more::after {{ content: "Add images"; }}
.cw-history-note {{ font-size: 11px; color: {_FG2}; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}

/* gallery and tiles */
.cw-gallery {{ display: grid !important; width: 100%; gap: 12px;
  grid-template-columns: repeat(auto-fill, minmax(min(220px, 100%), 1fr)); }}
.cw-gallery > * {{ margin: 0 !important; min-width: 0; }}
.cw-tile {{ border: 1px solid {_BORDER}; border-radius: 8px; padding: 8px; gap: 6px;
  background: {_BG}; min-width: 0; overflow: hidden; }}
.cw-frame {{ position: relative; width: 100%; aspect-ratio: 1 / 1; border-radius: 6px;
  overflow: hidden; align-items: center; justify-content: center; }}
/* a checkerboard under the pixels: transparency shows */
.cw-frame, .cw-panel img.cw-lightbox-image {{ background-color: {_BG2};
  background-image: conic-gradient({_BORDER} 25%, transparent 0 50%, {_BORDER} 0 75%,
    transparent 0);
  background-size: 16px 16px; }}
.cw-panel img.cw-thumb {{ width: 100%; height: 100%; object-fit: contain; margin: 0; }}
.cw-placeholder, .cw-image-error {{ width: 100%; height: 100%; margin: 0 !important; }}
.cw-placeholder .widget-html-content {{ width: 100%; height: 100%; display: flex;
  flex-direction: column; align-items: center; justify-content: center; gap: 10px;
  position: relative; overflow: hidden; isolation: isolate; background: {_BG2}; color: {_FG}; }}
/* The shimmer moves by transform, which the compositor animates: a moving background-position
   restyled and repainted the tiles on the page's main thread every frame while they waited. */
.cw-placeholder .widget-html-content::before {{ content: ""; position: absolute; inset: 0;
  z-index: -1; background: linear-gradient(100deg, transparent 30%, {_BG} 50%, transparent 70%);
  animation: cw-pulse 1.6s ease-in-out infinite; }}
.cw-spinner {{ width: 28px; height: 28px; border-radius: 50%;
  border: 3px solid {_BORDER}; border-top-color: {_BRAND};
  animation: cw-spin .9s linear infinite; }}
@keyframes cw-spin {{ to {{ transform: rotate(360deg); }} }}
@keyframes cw-pulse {{ from {{ transform: translateX(-100%); }}
  to {{ transform: translateX(100%); }} }}
@media (prefers-reduced-motion: reduce) {{
  .cw-spinner, .cw-placeholder .widget-html-content::before {{ animation: none; }} }}
.cw-image-error .widget-html-content {{ width: 100%; height: 100%; padding: 12px;
  display: flex; flex-direction: column; justify-content: center; gap: 4px;
  white-space: normal; overflow-wrap: break-word; background: {_tint(_ERROR, 10)};
  color: {_FG}; overflow: auto; }}
.cw-caption .widget-html-content {{ white-space: normal; overflow-wrap: break-word;
  line-height: 1.35; }}
.cw-mismatch {{ font-size: 12px; border-left: 3px solid {_WARN}; padding-left: 6px; }}
.cw-tile-actions {{ gap: 6px; flex-wrap: wrap; }}
.cw-tile-actions > * {{ margin: 0 !important; }}
.cw-panel .cw-tile-actions button {{ width: auto; flex: 1 1 auto; }}
.cw-saved .widget-html-content, .cw-lightbox-saved .widget-html-content,
.cw-selection-saved .widget-html-content {{ font-size: 12px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; color: {_FG2}; }}
.cw-panel .cw-saved a, .cw-lightbox a, .cw-panel .cw-selection a,
.cw-panel a.cw-download-link {{ color: {_BRAND}; text-decoration: underline; }}
.cw-gallery.cw-running .cw-tile {{ border-style: dashed; }}
{_TILE_CSS}

/* lightbox: a stable card filling the overlay (paging, a long caption or Save never resize
   it); the image fits the frame whatever its shape, the checkerboard only under its pixels */
.cw-lightbox {{ position: fixed !important; inset: 0; z-index: 10000;
  background: rgba(0, 0, 0, .78); align-items: center; justify-content: center;
  padding: 24px; margin: 0 !important; max-width: none !important; }}
.cw-lightbox-card {{ background: {_BG}; color: {_FG}; border-radius: 10px; padding: 12px 14px;
  gap: 8px; width: 100%; height: 100%; max-width: 1400px; min-width: 0; min-height: 0;
  overflow: hidden; box-shadow: 0 10px 40px rgba(0,0,0,.5); }}
.cw-lightbox-card > * {{ margin: 0 !important; flex: 0 0 auto; min-width: 0; }}
.cw-lightbox-bar, .cw-lightbox-actions {{ align-items: center; gap: 8px; flex-wrap: wrap; }}
.cw-lightbox-bar > *, .cw-lightbox-actions > * {{ margin: 0 !important; }}
.cw-lightbox-count .widget-html-content {{ font-weight: 600; font-variant-numeric: tabular-nums; }}
.cw-lightbox-card > .cw-lightbox-frame {{ flex: 1 1 0; position: relative; min-height: 0;
  width: 100%; overflow: hidden; background: none; }}
.cw-panel img.cw-lightbox-image {{ position: absolute; inset: 0; margin: auto !important;
  max-width: 100%; max-height: 100%; width: auto !important; height: auto !important;
  object-fit: contain; }}
.cw-lightbox-caption .widget-html-content {{ white-space: normal; overflow-wrap: break-word;
  max-width: 100%; max-height: 5.5em; overflow: auto; }}
.cw-lightbox-actions > .cw-lightbox-saved {{ flex: 1 1 0; min-width: 0; }}
.cw-panel .cw-lightbox button {{ width: auto; }}
.cw-panel .cw-lightbox button:focus-visible {{ outline: 2px solid {_BRAND};
  outline-offset: 1px; }}
.cw-panel .cw-bridge {{ display: none !important; }}

/* selection: a Select box on each image, the row that saves or downloads the selected */
.cw-frame > .cw-select {{ position: absolute !important; top: 6px; left: 6px; z-index: 1;
  width: auto !important; height: auto !important; margin: 0 !important;
  padding: 3px 9px 3px 7px; border-radius: 999px; background: {_tint(_BG2, 88)};
  color: {_FG}; box-shadow: 0 1px 3px rgba(0,0,0,.3); font-size: 12px; line-height: 16px; }}
.cw-frame > .cw-select label {{ display: inline-flex; align-items: center; gap: 5px;
  height: auto; line-height: 16px; cursor: pointer; color: {_FG}; }}
.cw-frame > .cw-select input {{ margin: 0; height: 14px; width: 14px; cursor: pointer; }}
.cw-tile.cw-tile-selected {{ border-color: {_BRAND}; box-shadow: 0 0 0 1px {_BRAND}; }}
.cw-selection {{ align-items: center; gap: 8px; flex-wrap: wrap; }}
.cw-selection > * {{ margin: 0 !important; }}
.cw-panel .cw-selection button {{ width: auto; height: 26px; padding: 0 9px;
  font-size: 12px; }}
.cw-selection-count .widget-html-content {{ color: {_FG2}; font-weight: 600; }}
.cw-selection > .cw-selection-saved {{ flex: 1 1 12em; min-width: 0; }}

/* layout: controls beside results when the panel is wide, one column below */
.cw-panel .cw-body {{ display: grid !important; grid-template-columns: minmax(0, 1fr);
  gap: 10px 20px; align-items: start; width: 100%; }}
.cw-body > * {{ margin: 0 !important; min-width: 0; }}
.cw-controls-column, .cw-results-column, .cw-results, .cw-results-views, .cw-views,
.cw-view {{ gap: 10px; min-width: 0; }}
.cw-controls-column > *, .cw-results-column > *, .cw-results > *, .cw-results-views > *,
.cw-views > *, .cw-view > * {{ margin: 0 !important; max-width: 100%; min-width: 0; }}
.cw-status-row {{ align-items: baseline; gap: 10px; }}
.cw-status-row > * {{ margin: 0 !important; }}
.cw-status-row > .cw-status {{ flex: 0 1 auto; min-width: 0; }}
/* the views' switch: a segmented control, the view shown in the brand's tint */
.cw-view-switch {{ width: auto !important; }}
.cw-panel .cw-view-switch button.widget-toggle-button {{ width: auto; min-width: 6.5em;
  margin: 0 0 0 -1px; border: 1px solid {_BORDER}; border-radius: 0; box-shadow: none;
  background: {_BG}; color: {_FG}; }}
.cw-panel .cw-view-switch button.widget-toggle-button:first-of-type {{ margin-left: 0;
  border-radius: 6px 0 0 6px; }}
.cw-panel .cw-view-switch button.widget-toggle-button:last-of-type {{
  border-radius: 0 6px 6px 0; }}
.cw-panel .cw-view-switch button.widget-toggle-button:hover {{ background: {_BG2}; }}
.cw-panel .cw-view-switch button.widget-toggle-button.mod-active {{ position: relative;
  background: {_tint(_BRAND, 16)}; border-color: {_BRAND}; font-weight: 600; }}
/* 900 px of panel (its content box: less its padding and border): a JupyterLab window of
   1100 px with the file browser closed, or of 1400 px with it open */
@container cw-panel (min-width: 870px) {{
  /* a third for the controls (at least 320 px), two for the results: three tiles a row */
  .cw-panel .cw-body {{ grid-template-columns: minmax(320px, 1fr) minmax(0, 2fr); }}
  /* edit mode: the input strip runs down beside the painter */
  .cw-panel .cw-edit-area {{ flex-direction: row; align-items: flex-start; }}
  .cw-panel .cw-edit-area .cw-inputs {{ flex-direction: column; overflow-x: hidden;
    overflow-y: auto; max-height: 480px; flex: 0 0 auto; padding: 0 4px 0 0; }}
  .cw-panel .cw-edit-area .cw-mask-area {{ flex: 1 1 auto; }}
}}

/* history strip */
.cw-history {{ gap: 8px; overflow-x: auto; overflow-y: hidden; width: 100%;
  flex-wrap: nowrap; padding: 2px 0 6px; }}
.cw-history > * {{ margin: 0 !important; flex: 0 0 auto; }}
.cw-history-title .widget-html-content {{ font-weight: 600; color: {_FG}; }}
.cw-panel .cw-history-item {{ position: relative; flex-direction: row !important;
  align-items: center; width: 224px; gap: 8px; padding: 5px 8px 5px 5px;
  border: 1px solid {_BORDER}; border-radius: 8px; background: {_BG}; }}
.cw-history-item > * {{ margin: 0 !important; }}
.cw-history-item:hover {{ border-color: {_tint(_BRAND, 60)}; }}
.cw-history-item.cw-selected {{ border-color: {_BRAND}; box-shadow: 0 0 0 1px {_BRAND};
  background: {_tint(_BRAND, 6)}; }}
.cw-history-item img.cw-history-thumb {{ width: 56px; height: 56px; flex: 0 0 56px;
  object-fit: cover; border-radius: 5px; margin: 0; background-color: {_BG2}; }}
.cw-history-item .cw-history-label {{ flex: 1 1 auto; min-width: 0; }}
.cw-history-label .widget-html-content {{ font-size: 12px; color: {_FG}; line-height: 1.3;
  white-space: normal; overflow: hidden; }}
.cw-history-prompt {{ font-weight: 600; overflow-wrap: anywhere; overflow: hidden;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; }}
.cw-history-meta {{ color: {_FG2}; font-size: 11px; overflow-wrap: anywhere; }}
/* the history's and the Library view's cards: a transparent button over the card picks it */
.cw-panel button.cw-history-pick, .cw-panel button.cw-library-pick {{ position: absolute;
  inset: 0; width: 100%; height: 100%; margin: 0; padding: 0; opacity: 0; cursor: pointer; }}
.cw-panel button.cw-history-pick:focus-visible,
.cw-panel button.cw-library-pick:focus-visible {{ opacity: .25; }}
"""


def style_widget(*extra: str) -> widgets.HTML:
    """The ``<style>`` element (an invisible HTML widget of class ``cw-stylesheet``), with the
    ``extra`` rules of views that bring their own (the Library and Compare views)."""
    return classed(made(widgets.HTML, f"<style>{CSS}{''.join(extra)}</style>"), "cw-stylesheet")
